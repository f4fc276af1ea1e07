"""GET /v1/config: which warehouse, which prefix, which endpoints this server really serves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep
from catalog.api.responses import errors, json_bytes
from catalog.api.security import Authorized, authorize, refusal
from catalog.auth.policy import POLICY
from catalog.exceptions import Forbidden
from catalog.protocol import CatalogConfig
from catalog.service.catalog import CatalogService
from catalog.service.rendering import dumps
from catalog.store.records import WarehouseRecord

router = APIRouter(tags=["Configuration API"], dependencies=[Depends(authorize)])
GET_CONFIG = POLICY["getConfig"]


def iso_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def supported_endpoints(routers: Sequence[APIRouter]) -> list[str]:
    """Derived from the routes themselves, so the list cannot drift from what is served."""
    found: set[str] = set()
    for api_router in routers:
        for route in api_router.routes:
            path = getattr(route, "path", "")
            if path.startswith("/v1/{prefix}/"):
                path = path.replace("{plan_id}", "{plan-id}")  # the spec's name, not Python's
                found.update(f"{method} {path}" for method in getattr(route, "methods", ()))
    return sorted(found)


@router.get(
    "/v1/config",
    operation_id="getConfig",
    response_model=CatalogConfig,
    responses=errors(400, 404),
)
async def get_config(
    request: Request,
    catalog: CatalogDep,
    principal: Authorized,
    warehouse: Annotated[str | None, Query(description="Warehouse name.")] = None,
) -> Response:
    settings = request.app.state.settings
    found = await run_in_threadpool(
        catalog.warehouses.resolve, warehouse, settings.default_warehouse
    )
    refused = refusal(principal, GET_CONFIG, found.name, [])
    if refused is not None:
        raise Forbidden(refused)
    body = await run_in_threadpool(config_body, catalog, found, request.app.state.endpoints)
    return json_bytes(body)


def config_body(catalog: CatalogService, found: WarehouseRecord, endpoints: list[str]) -> bytes:
    """getConfig's body for `found`: the same for as long as the warehouse exists (its name
    and storage never change), so `config_fast` keeps it per warehouse id."""
    lifetime = int(catalog.context.limits.idempotency_lifetime.total_seconds())
    body = {
        "defaults": catalog.tables.client_defaults(found),
        "overrides": {"prefix": found.name, "namespace-separator": "%1F"},
        "endpoints": endpoints,
        "idempotency-key-lifetime": iso_duration(lifetime),
    }
    return dumps(body)
