"""Plain ASGI middleware: a request id and one structured log line per request, and a cap on
request bodies (a 10 MB JSON body is refused before it is parsed, not after)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.api.errors import error_body

log = logging.getLogger("icefloe.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _reject(send, request_id, self.max_body_bytes)
            _log(scope, 413, started, request_id)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            status = 413
            await _reject(send, request_id, self.max_body_bytes)
        finally:
            _log(scope, status, started, request_id)
            await _audit(scope, status, request_id)


class _BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def _reject(send: Send, request_id: str, limit: int) -> None:
    body = error_body(413, f"Request body larger than {limit} bytes")
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode("latin-1")),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _audit(scope: Scope, status: int, request_id: str) -> None:
    """Writes and admin actions, once their outcome is known (set by `authorize`)."""
    pending = scope.get("state", {}).get("audit")
    if pending is None:
        return
    principal, operation, target = pending
    catalog = scope["app"].state.catalog
    try:
        await run_in_threadpool(
            catalog.audit.record, principal, operation, target, request_id, status
        )
    except Exception:
        log.exception("event=audit_write_failed operation=%s request_id=%s", operation, request_id)


def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info(
        "event=request method=%s path=%s status=%d ms=%.1f request_id=%s",
        scope.get("method"),
        scope.get("path"),
        status,
        elapsed_ms,
        request_id,
    )
