"""Namespaces: list, create, load, exists, drop, update properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep, Idempotency, NamespacePath, Prefix
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import Authorized, authorize
from catalog.auth.principal import Principal
from catalog.protocol import (
    CreateNamespaceRequest,
    CreateNamespaceResponse,
    GetNamespaceResponse,
    ListNamespacesResponse,
    UpdateNamespacePropertiesRequest,
    UpdateNamespacePropertiesResponse,
)
from catalog.service.identifiers import check_namespace

router = APIRouter(
    prefix="/v1/{prefix}/namespaces", tags=["Catalog API"], dependencies=[Depends(authorize)]
)

PageToken = Annotated[str | None, Query(alias="pageToken")]
PageSize = Annotated[int | None, Query(alias="pageSize")]


@router.get(
    "",
    operation_id="listNamespaces",
    response_model=ListNamespacesResponse,
    responses=errors(400, 404),
)
async def list_namespaces(
    prefix: Prefix,
    catalog: CatalogDep,
    principal: Authorized,
    parent: Annotated[str | None, Query(description="Levels separated by %1F.")] = None,
    page_token: PageToken = None,
    page_size: PageSize = None,
) -> Response:
    levels = check_namespace(parent.split("\x1f"), allow_empty=True) if parent else ()
    body = await run_in_threadpool(
        catalog.namespaces.list,
        prefix,
        levels,
        page_token,
        page_size,
        visible_to(principal, prefix),
    )
    return json_bytes(body)


def visible_to(principal: Principal, warehouse: str) -> Callable[[tuple[str, ...]], bool]:
    """Which listed namespaces `principal` sees: those it may read and their ancestors."""
    return lambda namespace: principal.may_see_namespace(warehouse, namespace)


@router.post(
    "",
    operation_id="createNamespace",
    response_model=CreateNamespaceResponse,
    responses=errors(400, 404, 409),
)
async def create_namespace(
    prefix: Prefix,
    body: CreateNamespaceRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
) -> Response:
    result = await run_in_threadpool(
        catalog.namespaces.create,
        prefix,
        body.namespace,
        dict(body.properties),
        ticket,
        placer=principal,
    )
    return json_bytes(result)


@router.get(
    "/{namespace}",
    operation_id="loadNamespaceMetadata",
    response_model=GetNamespaceResponse,
    responses=errors(400, 404),
)
async def load_namespace(prefix: Prefix, namespace: NamespacePath, catalog: CatalogDep) -> Response:
    return json_bytes(await run_in_threadpool(catalog.namespaces.load, prefix, namespace))


@router.head(
    "/{namespace}", operation_id="namespaceExists", status_code=204, responses=errors(400, 404)
)
async def namespace_exists(
    prefix: Prefix, namespace: NamespacePath, catalog: CatalogDep
) -> Response:
    await run_in_threadpool(catalog.namespaces.exists, prefix, namespace)
    return no_content()


@router.delete(
    "/{namespace}", operation_id="dropNamespace", status_code=204, responses=errors(400, 404, 409)
)
async def drop_namespace(
    prefix: Prefix, namespace: NamespacePath, catalog: CatalogDep, ticket: Idempotency
) -> Response:
    await run_in_threadpool(catalog.namespaces.drop, prefix, namespace, ticket)
    return no_content()


@router.post(
    "/{namespace}/properties",
    operation_id="updateProperties",
    response_model=UpdateNamespacePropertiesResponse,
    responses=errors(400, 404, 422),
)
async def update_properties(
    prefix: Prefix,
    namespace: NamespacePath,
    body: UpdateNamespacePropertiesRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
) -> Response:
    result = await run_in_threadpool(
        catalog.namespaces.update_properties,
        prefix,
        namespace,
        body.removals,
        dict(body.updates),
        ticket,
        placer=principal,
    )
    return json_bytes(result)
