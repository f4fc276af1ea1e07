"""Views: list, create, load, replace, exists, drop, rename, register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep, Idempotency, NamespacePath, Prefix, ViewPath
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import ActorDep, Authorized, authorize
from catalog.protocol import (
    CommitViewRequest,
    CreateViewRequest,
    ListTablesResponse,
    LoadViewResult,
    RegisterViewRequest,
    RenameTableRequest,
)
from catalog.service.identifiers import check_namespace, check_object_name

router = APIRouter(prefix="/v1/{prefix}", tags=["Catalog API"], dependencies=[Depends(authorize)])
VIEW = "/namespaces/{namespace}/views/{view}"


@router.get(
    "/namespaces/{namespace}/views",
    operation_id="listViews",
    response_model=ListTablesResponse,
    responses=errors(400, 404),
)
async def list_views(
    prefix: Prefix,
    namespace: NamespacePath,
    catalog: CatalogDep,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    page_size: Annotated[int | None, Query(alias="pageSize")] = None,
) -> Response:
    body = await run_in_threadpool(
        catalog.tables.list, prefix, namespace, page_token, page_size, "view"
    )
    return json_bytes(body)


@router.post(
    "/namespaces/{namespace}/views",
    operation_id="createView",
    response_model=LoadViewResult,
    responses=errors(400, 404, 409),
)
async def create_view(
    prefix: Prefix,
    namespace: NamespacePath,
    body: CreateViewRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
) -> Response:
    return json_bytes(
        await run_in_threadpool(
            catalog.views.create, prefix, namespace, body, ticket, placer=principal
        )
    )


@router.post(
    "/namespaces/{namespace}/register-view",
    operation_id="registerView",
    response_model=LoadViewResult,
    responses=errors(400, 404, 409),
)
async def register_view(
    prefix: Prefix,
    namespace: NamespacePath,
    body: RegisterViewRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
) -> Response:
    return json_bytes(
        await run_in_threadpool(
            catalog.views.register, prefix, namespace, body, ticket, placer=principal
        )
    )


@router.get(
    VIEW, operation_id="loadView", response_model=LoadViewResult, responses=errors(400, 404)
)
async def load_view(
    prefix: Prefix, namespace: NamespacePath, view: ViewPath, catalog: CatalogDep
) -> Response:
    return json_bytes(await run_in_threadpool(catalog.views.load, prefix, namespace, view))


@router.head(VIEW, operation_id="viewExists", status_code=204, responses=errors(400, 404))
async def view_exists(
    prefix: Prefix, namespace: NamespacePath, view: ViewPath, catalog: CatalogDep
) -> Response:
    await run_in_threadpool(catalog.views.exists, prefix, namespace, view)
    return no_content()


@router.post(
    VIEW,
    operation_id="replaceView",
    response_model=LoadViewResult,
    responses=errors(400, 404, 409, 500, 503),
)
async def replace_view(
    prefix: Prefix,
    namespace: NamespacePath,
    view: ViewPath,
    body: CommitViewRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
) -> Response:
    return json_bytes(
        await run_in_threadpool(
            catalog.views.replace, prefix, namespace, view, body, ticket, placer=principal
        )
    )


@router.delete(VIEW, operation_id="dropView", status_code=204, responses=errors(400, 403, 404))
async def drop_view(
    prefix: Prefix,
    namespace: NamespacePath,
    view: ViewPath,
    catalog: CatalogDep,
    ticket: Idempotency,
    actor: ActorDep,
) -> Response:
    await run_in_threadpool(catalog.views.drop, prefix, namespace, view, ticket, actor)
    return no_content()


@router.post(
    "/views/rename",
    operation_id="renameView",
    status_code=204,
    responses=errors(400, 404, 409),
)
async def rename_view(
    prefix: Prefix, body: RenameTableRequest, catalog: CatalogDep, ticket: Idempotency
) -> Response:
    source = (
        check_namespace(body.source.namespace),
        check_object_name(body.source.name, "view name"),
    )
    destination = (check_namespace(body.destination.namespace), body.destination.name)
    await run_in_threadpool(catalog.tables.rename, prefix, source, destination, ticket, "view")
    return no_content()
