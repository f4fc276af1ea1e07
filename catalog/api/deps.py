"""Typed dependencies, so that every route's signature says what it needs."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
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


async def _namespace(namespace: NamespaceParameter) -> tuple[str, ...]:
    return parse_namespace_path(namespace)


async def _table(table: TableParameter) -> str:
    return check_object_name(table)


async def _view(view: Annotated[str, Path(description="A view name")]) -> str:
    return check_object_name(view, "view name")


NamespacePath = Annotated[tuple[str, ...], Depends(_namespace)]
TablePath = Annotated[str, Depends(_table)]
ViewPath = Annotated[str, Depends(_view)]
Prefix = Annotated[str, Path(description="The warehouse, as the config endpoint's `prefix`.")]


NamespaceParameter = Annotated[
    str, Path(description="Namespace levels separated by the unit separator (%1F).")
]
TableParameter = Annotated[str, Path(description="A table name")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="UUIDv7; a retry with the same key returns the first outcome.",
    ),
]


async def _idempotency(
    request: Request, catalog: CatalogDep, idempotency_key: IdempotencyKey = None
) -> IdempotencyTicket | None:
    return await idempotency_ticket(request, catalog, idempotency_key)


async def idempotency_ticket(
    request: Request, catalog: CatalogService, idempotency_key: str | None
) -> IdempotencyTicket | None:
    """The ticket a mutation records its response under, or None without a key; a key seen
    before answers with the stored response (`ReplayStoredResponse`) or refuses (409)."""
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


@dataclass(frozen=True, slots=True)
class TableWrite:
    """What updateTable needs from the request besides its body, as one dependency.

    FastAPI solves each dependency with per-request bookkeeping (cache keys, four parameter
    kinds, ~0.05 ms of event-loop CPU each): the four small ones a commit used (namespace,
    table name, catalog, Idempotency-Key) are here one, checked in the same order with the
    same functions, so the same request gets the same answer."""

    namespace: tuple[str, ...]
    table: str
    catalog: CatalogService
    ticket: IdempotencyTicket | None


async def _table_write(
    request: Request,
    namespace: NamespaceParameter,
    table: TableParameter,
    idempotency_key: IdempotencyKey = None,
) -> TableWrite:
    levels = parse_namespace_path(namespace)
    name = check_object_name(table)
    catalog: CatalogService = request.app.state.catalog
    ticket = await idempotency_ticket(request, catalog, idempotency_key)
    return TableWrite(levels, name, catalog, ticket)


TableWriteDep = Annotated[TableWrite, Depends(_table_write)]
