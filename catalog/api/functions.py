"""Functions: the spec's listFunctions and loadFunction, and the admin API's create, replace
and drop (the spec defines no write operations for functions).

Writes are governed like a view's writes (write permission on the namespace), not as admin
operations: a team that may create views in its namespace may define its functions there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep, NamespacePath, Prefix
from catalog.api.maintenance import WarehousePath
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import ActorDep, Authorized, authorize
from catalog.protocol import ListFunctionsResponse, LoadFunctionResult
from catalog.service.function_metadata import CreateFunctionRequest, ReplaceFunctionRequest
from catalog.service.identifiers import check_object_name

router = APIRouter(prefix="/v1/{prefix}", tags=["Catalog API"], dependencies=[Depends(authorize)])
admin_router = APIRouter(
    prefix="/admin/v1/warehouses/{prefix}",
    tags=["Functions API"],
    dependencies=[Depends(authorize)],
)
FUNCTIONS = "/namespaces/{namespace}/functions"
FUNCTION = FUNCTIONS + "/{function}"


async def _function(function: Annotated[str, Path(description="A function name")]) -> str:
    return check_object_name(function, "function name")


FunctionPath = Annotated[str, Depends(_function)]


@router.get(
    FUNCTIONS,
    operation_id="listFunctions",
    response_model=ListFunctionsResponse,
    responses=errors(400, 404),
)
async def list_functions(
    prefix: Prefix,
    namespace: NamespacePath,
    catalog: CatalogDep,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    page_size: Annotated[int | None, Query(alias="pageSize")] = None,
) -> Response:
    body = await run_in_threadpool(catalog.functions.list, prefix, namespace, page_token, page_size)
    return json_bytes(body)


@router.get(
    FUNCTION,
    operation_id="loadFunction",
    response_model=LoadFunctionResult,
    responses=errors(400, 404),
)
async def load_function(
    prefix: Prefix, namespace: NamespacePath, function: FunctionPath, catalog: CatalogDep
) -> Response:
    return json_bytes(await run_in_threadpool(catalog.functions.load, prefix, namespace, function))


@admin_router.post(
    FUNCTIONS,
    operation_id="createFunction",
    response_model=LoadFunctionResult,
    responses=errors(400, 403, 404, 409),
)
async def create_function(
    prefix: WarehousePath,
    namespace: NamespacePath,
    body: CreateFunctionRequest,
    catalog: CatalogDep,
    principal: Authorized,
) -> Response:
    created = await run_in_threadpool(
        lambda: catalog.functions.create(prefix, namespace, body, who=principal)
    )
    return json_bytes(created)


@admin_router.put(
    FUNCTION,
    operation_id="replaceFunction",
    response_model=LoadFunctionResult,
    responses=errors(400, 403, 404, 409),
)
async def replace_function(
    prefix: WarehousePath,
    namespace: NamespacePath,
    function: FunctionPath,
    body: ReplaceFunctionRequest,
    catalog: CatalogDep,
    principal: Authorized,
) -> Response:
    replaced = await run_in_threadpool(
        lambda: catalog.functions.replace(prefix, namespace, function, body, who=principal)
    )
    return json_bytes(replaced)


@admin_router.delete(
    FUNCTION, operation_id="dropFunction", status_code=204, responses=errors(400, 403, 404)
)
async def drop_function(
    prefix: WarehousePath,
    namespace: NamespacePath,
    function: FunctionPath,
    catalog: CatalogDep,
    actor: ActorDep,
) -> Response:
    """To the warehouse's trash (docs/governance.md); 403 for a protected function."""
    await run_in_threadpool(
        lambda: catalog.functions.drop(prefix, namespace, function, actor=actor)
    )
    return no_content()
