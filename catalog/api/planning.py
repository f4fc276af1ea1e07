"""Server-side scan planning: planTableScan, fetchPlanningResult, cancelPlanning,
fetchScanTasks (the service is `catalog.planning.plans.Planner`; docs/planning.md)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import NamespacePath, Prefix, TablePath
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import Authorized, authorize
from catalog.api.tables import AccessDelegation, delegation_for
from catalog.exceptions import BadRequest
from catalog.planning.plans import Planner

router = APIRouter(prefix="/v1/{prefix}", tags=["Catalog API"], dependencies=[Depends(authorize)])
PLAN = "/namespaces/{namespace}/tables/{table}/plan"
PlanId = Annotated[str, Path(description="The plan id from planTableScan (the spec's plan-id).")]


async def get_planner(request: Request) -> Planner:
    planner: Planner = request.app.state.planner
    return planner


PlannerDep = Annotated[Planner, Depends(get_planner)]


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"Invalid JSON body: {error}") from error


@router.post(PLAN, operation_id="planTableScan", responses=errors(400, 404, 406, 503))
async def plan_table_scan(
    request: Request,
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    planner: PlannerDep,
    principal: Authorized,
    access_delegation: AccessDelegation = None,
) -> Response:
    body = await _json_body(request)
    delegation = delegation_for(access_delegation, principal, prefix, namespace)
    result = await run_in_threadpool(
        planner.plan_table_scan, prefix, namespace, table, body, delegation
    )
    return json_bytes(result, headers={"Cache-Control": "no-store"})


@router.get(PLAN + "/{plan_id}", operation_id="fetchPlanningResult", responses=errors(400, 404))
async def fetch_planning_result(
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    plan_id: PlanId,
    planner: PlannerDep,
    principal: Authorized,
    access_delegation: AccessDelegation = None,
) -> Response:
    delegation = delegation_for(access_delegation, principal, prefix, namespace)
    result = await run_in_threadpool(
        planner.fetch_planning_result, prefix, namespace, table, plan_id, delegation
    )
    return json_bytes(result, headers={"Cache-Control": "no-store"})


@router.delete(
    PLAN + "/{plan_id}", operation_id="cancelPlanning", status_code=204, responses=errors(400, 404)
)
async def cancel_planning(
    prefix: Prefix, namespace: NamespacePath, table: TablePath, plan_id: PlanId, planner: PlannerDep
) -> Response:
    await run_in_threadpool(planner.cancel, prefix, namespace, table, plan_id)
    return no_content()


@router.post(
    "/namespaces/{namespace}/tables/{table}/tasks",
    operation_id="fetchScanTasks",
    responses=errors(400, 404),
)
async def fetch_scan_tasks(
    request: Request,
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    planner: PlannerDep,
) -> Response:
    body = await _json_body(request)
    result = await run_in_threadpool(planner.fetch_scan_tasks, prefix, namespace, table, body)
    return json_bytes(result, headers={"Cache-Control": "no-store"})
