"""The admin API: warehouses, API tokens and the audit log (catalog admins only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import Authorized, authorize
from catalog.integers import LONG_MAX
from catalog.profile_secrets import public_profile
from catalog.service.approval import DEFAULT_TIMEOUT, ApprovalSettings
from catalog.service.rendering import dumps
from catalog.store.records import TokenRecord, WarehouseRecord

router = APIRouter(prefix="/admin/v1", tags=["Admin API"], dependencies=[Depends(authorize)])


class CreateWarehouseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    location: str
    storage: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)


class ApprovalRequest(BaseModel):
    """A warehouse's commit approval (docs/governance.md): an endpoint, built-in rules, or both."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    url: str | None = Field(default=None, description="Where proposed commits are POSTed.")
    secret: str | None = Field(
        default=None, description="HMAC key; stored sealed. Omitted: the stored one is kept."
    )
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT, alias="timeout-seconds")
    on_failure: Literal["allow", "deny"] = Field(
        default="deny", alias="on-failure", description="When the endpoint does not answer."
    )
    rules: list[str] = Field(default_factory=list, description="Built-in rules to enforce.")


class CreateTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    permission: str = Field(description="admin, read-write or read-only")
    warehouses: list[str] | None = None
    namespaces: list[list[str]] | None = None
    expires_in_seconds: int | None = Field(default=None, gt=0)


def warehouse_json(warehouse: WarehouseRecord) -> dict[str, Any]:
    return {
        "id": warehouse.id,
        "name": warehouse.name,
        "location": warehouse.location,
        "storage": public_profile(warehouse.storage),
        "properties": warehouse.properties,
        "approval": ApprovalSettings.parse(warehouse.approval).public()
        if warehouse.approval
        else None,
        "created-at": warehouse.created_at.isoformat(),
    }


def token_json(token: TokenRecord) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "permission": token.permission,
        "warehouses": token.warehouses,
        "namespaces": token.namespaces,
        "created-at": token.created_at.isoformat(),
        "expires-at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked-at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@router.get("/whoami", operation_id="whoAmI")
async def who_am_i(principal: Authorized) -> Response:
    grants = [
        {
            "permission": g.permission.wire,
            "warehouses": g.warehouses,
            "namespaces": g.namespaces,
        }
        for g in principal.grants
    ]
    return json_bytes(dumps({"id": principal.id, "name": principal.name, "grants": grants}))


@router.get("/warehouses", operation_id="listWarehouses")
async def list_warehouses(catalog: CatalogDep) -> Response:
    warehouses = await run_in_threadpool(catalog.warehouses.list)
    return json_bytes(dumps({"warehouses": [warehouse_json(w) for w in warehouses]}))


@router.post("/warehouses", operation_id="createWarehouse", responses=errors(400, 409))
async def create_warehouse(body: CreateWarehouseRequest, catalog: CatalogDep) -> Response:
    created = await run_in_threadpool(
        catalog.warehouses.create, body.name, body.location, body.storage, body.properties
    )
    return json_bytes(dumps(warehouse_json(created)), status_code=201)


@router.delete(
    "/warehouses/{name}",
    operation_id="deleteWarehouse",
    status_code=204,
    responses=errors(404, 409),
)
async def delete_warehouse(name: str, catalog: CatalogDep) -> Response:
    await run_in_threadpool(catalog.warehouses.delete, name)
    return no_content()


@router.get(
    "/warehouses/{name}/approval", operation_id="getWarehouseApproval", responses=errors(404)
)
async def get_warehouse_approval(name: str, catalog: CatalogDep) -> Response:
    settings = await run_in_threadpool(catalog.warehouses.approval, name)
    return json_bytes(dumps({"approval": settings.public() if settings else None}))


@router.put(
    "/warehouses/{name}/approval",
    operation_id="setWarehouseApproval",
    responses=errors(400, 404),
)
async def set_warehouse_approval(name: str, body: ApprovalRequest, catalog: CatalogDep) -> Response:
    requested = ApprovalSettings(
        body.url,
        body.secret,
        body.timeout_seconds,
        body.on_failure == "allow",
        frozenset(body.rules),
    )
    settings = await run_in_threadpool(catalog.warehouses.set_approval, name, requested)
    return json_bytes(dumps({"approval": settings.public()}))


@router.delete(
    "/warehouses/{name}/approval",
    operation_id="deleteWarehouseApproval",
    status_code=204,
    responses=errors(404),
)
async def delete_warehouse_approval(name: str, catalog: CatalogDep) -> Response:
    await run_in_threadpool(catalog.warehouses.clear_approval, name)
    return no_content()


@router.get("/tokens", operation_id="listTokens")
async def list_tokens(catalog: CatalogDep) -> Response:
    tokens = await run_in_threadpool(catalog.tokens.list)
    return json_bytes(dumps({"tokens": [token_json(t) for t in tokens]}))


@router.post("/tokens", operation_id="createToken", responses=errors(400, 404))
async def create_token(body: CreateTokenRequest, catalog: CatalogDep) -> Response:
    expires = timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
    issued = await run_in_threadpool(
        catalog.tokens.create, body.name, body.permission, body.warehouses, body.namespaces, expires
    )
    payload = {**token_json(issued.record), "token": issued.bearer}
    return json_bytes(dumps(payload), status_code=201, headers={"Cache-Control": "no-store"})


@router.delete(
    "/tokens/{token_id}", operation_id="revokeToken", status_code=204, responses=errors(404)
)
async def revoke_token(token_id: str, catalog: CatalogDep) -> Response:
    await run_in_threadpool(catalog.tokens.revoke, token_id)
    return no_content()


@router.post("/tokens/{token_id}/rotate", operation_id="rotateToken", responses=errors(404))
async def rotate_token(token_id: str, catalog: CatalogDep) -> Response:
    issued = await run_in_threadpool(catalog.tokens.rotate, token_id)
    payload = {**token_json(issued.record), "token": issued.bearer}
    return json_bytes(dumps(payload), headers={"Cache-Control": "no-store"})


@router.get("/audit", operation_id="listAuditEvents")
async def list_audit(
    catalog: CatalogDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=LONG_MAX, description="Only events with a smaller id.")
    ] = None,
) -> Response:
    events = await run_in_threadpool(catalog.audit.list, limit, before)
    return json_bytes(
        dumps(
            {
                "events": [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "principal": e.principal,
                        "operation": e.operation,
                        "target": e.target,
                        "request-id": e.request_id,
                        "status": e.status,
                    }
                    for e in events
                ]
            }
        )
    )
