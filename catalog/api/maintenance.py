"""The maintenance admin API: policies, running a job now, and run records (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import NamespacePath, Prefix, TablePath
from catalog.api.responses import errors, json_bytes
from catalog.api.security import authorize
from catalog.exceptions import BadRequest
from catalog.maintenance.control import MAX_RUN_ID, MaintenanceService, run_json
from catalog.maintenance.jobs import JobKind, TableRef
from catalog.maintenance.policy import PolicySettings
from catalog.service.identifiers import check_warehouse_name
from catalog.service.rendering import dumps

router = APIRouter(prefix="/admin/v1", tags=["Maintenance API"], dependencies=[Depends(authorize)])
TABLE = "/warehouses/{prefix}/namespaces/{namespace}/tables/{table}/maintenance"


async def get_maintenance(request: Request) -> MaintenanceService:
    service: MaintenanceService = request.app.state.maintenance
    return service


MaintenanceDep = Annotated[MaintenanceService, Depends(get_maintenance)]


async def _warehouse(prefix: Prefix) -> str:
    return check_warehouse_name(prefix)


WarehousePath = Annotated[str, Depends(_warehouse)]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    kind: JobKind = Field(description="compact, expire or orphans")
    dry_run: bool = Field(
        default=False, alias="dry-run", description="Plan and report only; change nothing."
    )


@router.get(
    "/warehouses/{prefix}/maintenance/policy",
    operation_id="getWarehouseMaintenancePolicy",
    responses=errors(404),
)
async def get_warehouse_policy(prefix: WarehousePath, maintenance: MaintenanceDep) -> Response:
    body = await run_in_threadpool(maintenance.warehouse_policy, prefix)
    return json_bytes(dumps(body))


@router.put(
    "/warehouses/{prefix}/maintenance/policy",
    operation_id="setWarehouseMaintenancePolicy",
    responses=errors(400, 404),
)
async def set_warehouse_policy(
    prefix: WarehousePath, body: PolicySettings, maintenance: MaintenanceDep
) -> Response:
    """Replace the warehouse's stored settings; keys left out take the defaults."""
    result = await run_in_threadpool(maintenance.set_warehouse_policy, prefix, body.explicit())
    return json_bytes(dumps(result))


@router.get(TABLE + "/policy", operation_id="getTableMaintenancePolicy", responses=errors(404))
async def get_table_policy(
    prefix: WarehousePath, namespace: NamespacePath, table: TablePath, maintenance: MaintenanceDep
) -> Response:
    """The table's stored settings and its effective policy, with where each value comes from
    (default, warehouse, table or properties) and any table property that was ignored."""
    body = await run_in_threadpool(maintenance.table_policy, TableRef(prefix, namespace, table))
    return json_bytes(dumps(body))


@router.put(TABLE + "/policy", operation_id="setTableMaintenancePolicy", responses=errors(400, 404))
async def set_table_policy(
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    body: PolicySettings,
    maintenance: MaintenanceDep,
) -> Response:
    """Replace the table's stored settings; keys left out are inherited from the warehouse."""
    result = await run_in_threadpool(
        maintenance.set_table_policy, TableRef(prefix, namespace, table), body.explicit()
    )
    return json_bytes(dumps(result))


@router.post(TABLE + "/runs", operation_id="runMaintenanceJob", responses=errors(400, 404, 409))
async def run_job_now(
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    body: RunRequest,
    maintenance: MaintenanceDep,
) -> Response:
    """Run one job now under the table's lease (409 while another job holds it) and answer
    with its run record once it finished; a failed job is a run with outcome `failed`."""
    run = await run_in_threadpool(
        lambda: maintenance.run(
            TableRef(prefix, namespace, table), body.kind, dry_run=body.dry_run, trigger="manual"
        )
    )
    return json_bytes(dumps(run_json(run)))


@router.get("/maintenance/runs", operation_id="listMaintenanceRuns", responses=errors(400))
async def list_runs(
    maintenance: MaintenanceDep,
    warehouse: Annotated[str | None, Query()] = None,
    namespace: Annotated[
        str | None, Query(description="Levels separated by the unit separator (%1F).")
    ] = None,
    table: Annotated[str | None, Query()] = None,
    kind: Annotated[JobKind | None, Query()] = None,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=1000)] = 100,
) -> Response:
    """Run records, newest first."""
    if any("\x00" in value for value in (warehouse, namespace, table) if value):
        raise BadRequest("Filters cannot contain NUL characters")
    runs, next_token = await run_in_threadpool(
        lambda: maintenance.runs(
            warehouse,
            tuple(namespace.split("\x1f")) if namespace else None,
            table,
            kind=kind.value if kind else None,
            page_token=page_token,
            page_size=page_size,
        )
    )
    return json_bytes(dumps({"runs": [run_json(r) for r in runs], "next-page-token": next_token}))


@router.get("/maintenance/runs/{run_id}", operation_id="getMaintenanceRun", responses=errors(404))
async def get_run(
    run_id: Annotated[int, Path(ge=1, le=MAX_RUN_ID)], maintenance: MaintenanceDep
) -> Response:
    run = await run_in_threadpool(maintenance.get_run, run_id)
    return json_bytes(dumps(run_json(run)))
