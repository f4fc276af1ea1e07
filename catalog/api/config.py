"""GET /v1/config: which warehouse, which prefix, which endpoints this server really serves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep
from catalog.api.responses import errors, json_bytes
from catalog.api.security import Authorized, authorize
from catalog.exceptions import Forbidden
from catalog.protocol import CatalogConfig
from catalog.service.rendering import dumps

router = APIRouter(tags=["Configuration API"], dependencies=[Depends(authorize)])


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
    if not principal.may_enter_warehouse(found.name):
        raise Forbidden(f"No access to warehouse {found.name}")
    lifetime = int(catalog.context.limits.idempotency_lifetime.total_seconds())
    body = {
        "defaults": await run_in_threadpool(catalog.tables.client_defaults, found),
        "overrides": {"prefix": found.name, "namespace-separator": "%1F"},
        "endpoints": request.app.state.endpoints,
        "idempotency-key-lifetime": iso_duration(lifetime),
    }
    return json_bytes(dumps(body))
