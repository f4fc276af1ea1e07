"""The governance admin API: the trash (list, undrop, retention, expire now), recursive
namespace drops, and deletion protection (catalog admins only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep, NamespacePath, TablePath, ViewPath
from catalog.api.maintenance import WarehousePath
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import ActorDep, authorize
from catalog.service.audit import Actor
from catalog.service.catalog import CatalogService
from catalog.service.identifiers import check_namespace, check_object_name
from catalog.service.protect import Kind
from catalog.service.rendering import dumps
from catalog.service.trash import trash_json

router = APIRouter(prefix="/admin/v1", tags=["Governance API"], dependencies=[Depends(authorize)])
NAMESPACE = "/warehouses/{prefix}/namespaces/{namespace}"


class Identifier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: list[str]
    name: str


class UndropRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    namespace: list[str]
    name: str
    id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f-]{36}$",
        description="One entry (its `id` in the listing), when the trash holds several.",
    )
    rename_to: Identifier | None = Field(
        default=None, alias="as", description="Undrop under this identifier instead."
    )
    kind: Literal["table", "view", "function"] | None = Field(
        default=None,
        description="Only an entry of this kind (a function may share its name with a table).",
    )


class RetentionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    retention_seconds: int = Field(alias="retention-seconds", description="0 turns the trash off")


@router.get("/warehouses/{prefix}/trash", operation_id="listTrash", responses=errors(404))
async def list_trash(prefix: WarehousePath, catalog: CatalogDep) -> Response:
    entries = await run_in_threadpool(catalog.trash.entries, prefix)
    return json_bytes(dumps({"entries": [trash_json(e) for e in entries]}))


@router.post(
    "/warehouses/{prefix}/trash/undrop",
    operation_id="undropObject",
    responses=errors(400, 404, 409),
)
async def undrop(
    prefix: WarehousePath, body: UndropRequest, catalog: CatalogDep, actor: ActorDep
) -> Response:
    """Put a dropped table, view or function back with its exact metadata (pointer); 409 when
    its name (or the one in `as`) is taken now."""
    rename_to = None
    if body.rename_to is not None:
        rename_to = (check_namespace(body.rename_to.namespace), body.rename_to.name)
    entry, (namespace, name) = await run_in_threadpool(
        lambda: catalog.trash.undrop(
            prefix,
            check_namespace(body.namespace),
            check_object_name(body.name),
            actor,
            entry_id=body.id,
            rename_to=rename_to,
            kind=body.kind,
        )
    )
    result = {
        "namespace": list(namespace),
        "name": name,
        "kind": entry.kind,
        "metadata-location": entry.metadata_location,
    }
    return json_bytes(dumps(result))


@router.put(
    "/warehouses/{prefix}/trash/retention",
    operation_id="setTrashRetention",
    responses=errors(400, 404),
)
async def set_retention(
    prefix: WarehousePath, body: RetentionRequest, catalog: CatalogDep, actor: ActorDep
) -> Response:
    await run_in_threadpool(catalog.trash.set_retention, prefix, body.retention_seconds, actor)
    return json_bytes(dumps({"retention-seconds": body.retention_seconds}))


@router.post("/trash/expire", operation_id="expireTrash")
async def expire_trash(catalog: CatalogDep, actor: ActorDep) -> Response:
    """The scheduler's trash pass, now: purge or forget every entry whose retention ended."""
    done = await run_in_threadpool(catalog.trash.expire, None, actor)
    expired = [
        {**trash_json(d.entry), "warehouse": d.warehouse, "outcome": d.outcome}
        | {"files-deleted": d.files_deleted}
        for d in done
    ]
    return json_bytes(dumps({"expired": expired}))


@router.delete(NAMESPACE, operation_id="dropNamespaceRecursive", responses=errors(403, 404))
async def drop_namespace_recursive(
    prefix: WarehousePath,
    namespace: NamespacePath,
    catalog: CatalogDep,
    actor: ActorDep,
    purge_requested: Annotated[bool, Query(alias="purgeRequested")] = False,
) -> Response:
    """Drop the namespace and everything under it in one transaction (tables and views to the
    trash); 403 with nothing changed when anything in it is protected."""
    result = await run_in_threadpool(
        lambda: catalog.trash.drop_namespace(prefix, namespace, purge=purge_requested, actor=actor)
    )
    return json_bytes(dumps(result))


def _protection(
    catalog: CatalogService,
    actor: Actor,
    prefix: str,
    kind: Kind,
    namespace: tuple[str, ...],
    name: str | None,
    protected: bool,
) -> None:
    catalog.protection.set(prefix, kind, namespace, name, protected, actor)


@router.put(
    NAMESPACE + "/protection",
    operation_id="protectNamespace",
    status_code=204,
    responses=errors(404),
)
async def protect_namespace(
    prefix: WarehousePath, namespace: NamespacePath, catalog: CatalogDep, actor: ActorDep
) -> Response:
    await run_in_threadpool(_protection, catalog, actor, prefix, "namespace", namespace, None, True)
    return no_content()


@router.delete(
    NAMESPACE + "/protection",
    operation_id="unprotectNamespace",
    status_code=204,
    responses=errors(404),
)
async def unprotect_namespace(
    prefix: WarehousePath, namespace: NamespacePath, catalog: CatalogDep, actor: ActorDep
) -> Response:
    await run_in_threadpool(
        _protection, catalog, actor, prefix, "namespace", namespace, None, False
    )
    return no_content()


@router.put(
    NAMESPACE + "/tables/{table}/protection",
    operation_id="protectTable",
    status_code=204,
    responses=errors(404),
)
async def protect_table(
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    actor: ActorDep,
) -> Response:
    await run_in_threadpool(_protection, catalog, actor, prefix, "table", namespace, table, True)
    return no_content()


@router.delete(
    NAMESPACE + "/tables/{table}/protection",
    operation_id="unprotectTable",
    status_code=204,
    responses=errors(404),
)
async def unprotect_table(
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    actor: ActorDep,
) -> Response:
    await run_in_threadpool(_protection, catalog, actor, prefix, "table", namespace, table, False)
    return no_content()


@router.put(
    NAMESPACE + "/views/{view}/protection",
    operation_id="protectView",
    status_code=204,
    responses=errors(404),
)
async def protect_view(
    prefix: WarehousePath,
    namespace: NamespacePath,
    view: ViewPath,
    catalog: CatalogDep,
    actor: ActorDep,
) -> Response:
    await run_in_threadpool(_protection, catalog, actor, prefix, "view", namespace, view, True)
    return no_content()


@router.delete(
    NAMESPACE + "/views/{view}/protection",
    operation_id="unprotectView",
    status_code=204,
    responses=errors(404),
)
async def unprotect_view(
    prefix: WarehousePath,
    namespace: NamespacePath,
    view: ViewPath,
    catalog: CatalogDep,
    actor: ActorDep,
) -> Response:
    await run_in_threadpool(_protection, catalog, actor, prefix, "view", namespace, view, False)
    return no_content()
