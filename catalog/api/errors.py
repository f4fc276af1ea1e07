"""Every error leaves as the spec's ErrorModel, with the status and type clients map to
exceptions. This is the only place that decides how an error looks on the wire."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from catalog.exceptions import CatalogError, IdempotencyKeyTaken
from catalog.service.catalog import CatalogService
from catalog.store.records import StoredResponse

log = logging.getLogger("icefloe.api")

_STATUS_TYPES = {
    400: "BadRequestException",
    401: "NotAuthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    406: "UnsupportedOperationException",
    409: "AlreadyExistsException",
    413: "PayloadTooLargeException",
    415: "UnsupportedMediaTypeException",
    422: "UnprocessableEntityException",
    500: "InternalServerError",
    503: "ServiceUnavailableException",
}


class ReplayStoredResponse(Exception):
    """A finalized request with this Idempotency-Key exists: answer with its response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


def error_body(status: int, message: str, wire_type: str | None = None) -> bytes:
    wire = wire_type or _STATUS_TYPES.get(status, "RESTException")
    return orjson.dumps({"error": {"message": message, "type": wire, "code": status}})


def error_response(status: int, message: str, wire_type: str | None = None) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="icefloe"'} if status == 401 else None
    return Response(
        error_body(status, message, wire_type),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def replay(stored: StoredResponse) -> Response:
    media = "application/json" if stored.body else None
    return Response(
        stored.body or None,
        status_code=stored.status_code,
        media_type=media,
        headers={"Idempotent-Replayed": "true"},
    )


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


async def _finalize_error(request: Request, status: int, body: bytes) -> None:
    """Deterministic 4xx outcomes are final under the spec's idempotency rules; store them."""
    ticket = getattr(request.state, "idempotency", None)
    catalog: CatalogService | None = getattr(request.app.state, "catalog", None)
    if ticket is None or catalog is None or not 400 <= status < 500:
        return
    await run_in_threadpool(
        catalog.save_error_response, ticket.key, ticket.fingerprint, status, body
    )


def _allowed_methods(request: Request) -> str:
    """RFC 9110 wants a 405 to name the methods the path serves. Starlette's names only the
    first matching route's, and FastAPI has a route per method, so ask every route."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CatalogError)
    async def _catalog_error(request: Request, error: CatalogError) -> Response:
        response = error_response(error.status, error.message, error.wire_type)
        await _finalize_error(request, error.status, bytes(response.body))
        if error.status >= 500:
            log.warning("event=server_error type=%s message=%s", error.wire_type, error.message)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> Response:
        response = error_response(400, _describe_validation(error))
        await _finalize_error(request, 400, bytes(response.body))
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = str(error.detail) if error.detail else "Error"
        if error.status_code == 404 and message == "Not Found":
            message = f"No route for {request.method} {request.url.path}"
        response = error_response(error.status_code, message)
        if error.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(ReplayStoredResponse)
    async def _replay(request: Request, signal: ReplayStoredResponse) -> Response:
        return replay(signal.stored)

    @app.exception_handler(IdempotencyKeyTaken)
    async def _taken(request: Request, signal: IdempotencyKeyTaken) -> Response:
        catalog: CatalogService = request.app.state.catalog
        stored = await run_in_threadpool(catalog.stored_response, str(signal))
        if stored is None:
            return error_response(409, "A request with this Idempotency-Key is in progress")
        return replay(stored)

    # An unexpected error is answered by RequestContextMiddleware: a handler here would be
    # Starlette's outermost one, which raises the error again and makes uvicorn drop the
    # connection.
