"""Typed dependencies, so that every route's signature says what it needs."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from starlette.concurrency import run_in_threadpool

from catalog.api.errors import ReplayStoredResponse
from catalog.exceptions import BadRequest, IdempotencyKeyReused
from catalog.service.catalog import CatalogService
from catalog.service.identifiers import check_object_name, parse_namespace_path
from catalog.store.records import IdempotencyTicket


# These are async on purpose: FastAPI runs sync dependencies on a worker thread, and a thread
# hop per trivial dependency was a measurable share of loadTable (docs/performance.md).
async def get_catalog(request: Request) -> CatalogService:
    catalog: CatalogService = request.app.state.catalog
    return catalog


CatalogDep = Annotated[CatalogService, Depends(get_catalog)]


async def _namespace(
    namespace: Annotated[
        str,
        Path(description="Namespace levels separated by the unit separator (%1F)."),
    ],
) -> tuple[str, ...]:
    return parse_namespace_path(namespace)


async def _table(table: Annotated[str, Path(description="A table name")]) -> str:
    return check_object_name(table)


async def _view(view: Annotated[str, Path(description="A view name")]) -> str:
    return check_object_name(view, "view name")


NamespacePath = Annotated[tuple[str, ...], Depends(_namespace)]
TablePath = Annotated[str, Depends(_table)]
ViewPath = Annotated[str, Depends(_view)]
Prefix = Annotated[str, Path(description="The warehouse, as the config endpoint's `prefix`.")]


async def _idempotency(
    request: Request,
    catalog: CatalogDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="UUIDv7; a retry with the same key returns the first outcome.",
        ),
    ] = None,
) -> IdempotencyTicket | None:
    if idempotency_key is None:
        return None
    try:
        key = str(uuid.UUID(idempotency_key))
    except ValueError as error:
        raise BadRequest("Invalid Idempotency-Key: must be a UUID (UUIDv7 recommended)") from error
    if len(idempotency_key) != 36:
        raise BadRequest("Invalid Idempotency-Key: must be a UUID in its 36-character form")
    body = await request.body()
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    fingerprint = digest.hexdigest()
    stored = await run_in_threadpool(catalog.stored_response, key)
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request"
            )
        raise ReplayStoredResponse(stored)
    route = request.scope.get("route")
    status = int(getattr(route, "status_code", None) or 200)
    ticket = IdempotencyTicket(key, fingerprint, status)
    request.state.idempotency = ticket
    return ticket


Idempotency = Annotated[IdempotencyTicket | None, Depends(_idempotency)]
