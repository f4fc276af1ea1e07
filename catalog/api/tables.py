"""Tables: list, create, load, exists, commit, drop, rename, register, unregister, metrics."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import (
    CatalogDep,
    Idempotency,
    NamespacePath,
    Prefix,
    TablePath,
    TableWriteDep,
)
from catalog.api.middleware import audit_in_change, audit_written
from catalog.api.responses import errors, json_bytes, no_content
from catalog.api.security import ActorDep, Authorized, authorize
from catalog.auth.principal import Permission, Principal
from catalog.protocol import (
    CommitTableRequest,
    CommitTableResponse,
    CreateTableRequest,
    ListTablesResponse,
    LoadTableResult,
    RegisterTableRequest,
    RemoteSignRequest,
    RenameTableRequest,
    ReportMetricsRequest,
)
from catalog.service.identifiers import check_namespace, check_object_name
from catalog.service.tables import Delegation

AccessDelegation = Annotated[
    str | None,
    Header(
        alias="X-Iceberg-Access-Delegation",
        description="Comma-separated: vended-credentials and/or remote-signing.",
    ),
]


def delegation_for(
    header: str | None,
    principal: Principal,
    warehouse: str,
    namespace: tuple[str, ...],
    signer_uri: str = "",
) -> Delegation:
    """Vended credentials only when asked for; read-only unless the caller may write."""
    asked = {part.strip() for part in (header or "").split(",")}
    may_write = principal.may(Permission.WRITE, warehouse, namespace)
    return Delegation(
        "vended-credentials" in asked,
        "write" if may_write else "read",
        "remote-signing" in asked,
        signer_uri,
    )


router = APIRouter(prefix="/v1/{prefix}", tags=["Catalog API"], dependencies=[Depends(authorize)])
TABLE = "/namespaces/{namespace}/tables/{table}"


@router.get(
    "/namespaces/{namespace}/tables",
    operation_id="listTables",
    response_model=ListTablesResponse,
    responses=errors(400, 404),
)
async def list_tables(
    prefix: Prefix,
    namespace: NamespacePath,
    catalog: CatalogDep,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    page_size: Annotated[int | None, Query(alias="pageSize")] = None,
) -> Response:
    body = await run_in_threadpool(
        catalog.tables.list, prefix, namespace, page_token, page_size, "table"
    )
    return json_bytes(body)


@router.post(
    "/namespaces/{namespace}/tables",
    operation_id="createTable",
    response_model=LoadTableResult,
    responses=errors(400, 404, 409),
)
async def create_table(
    request: Request,
    prefix: Prefix,
    namespace: NamespacePath,
    body: CreateTableRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
    access_delegation: AccessDelegation = None,
) -> Response:
    delegation = delegation_for(
        access_delegation, principal, prefix, namespace, str(request.base_url).rstrip("/")
    )
    result = await run_in_threadpool(
        catalog.tables.create, prefix, namespace, body, ticket, delegation, placer=principal
    )
    return json_bytes(result)


@router.post(
    "/namespaces/{namespace}/register",
    operation_id="registerTable",
    response_model=LoadTableResult,
    responses=errors(400, 404, 409),
)
async def register_table(
    request: Request,
    prefix: Prefix,
    namespace: NamespacePath,
    body: RegisterTableRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
    access_delegation: AccessDelegation = None,
) -> Response:
    delegation = delegation_for(
        access_delegation, principal, prefix, namespace, str(request.base_url).rstrip("/")
    )
    result = await run_in_threadpool(
        catalog.tables.register, prefix, namespace, body, ticket, delegation, placer=principal
    )
    return json_bytes(result)


@router.get(
    TABLE,
    operation_id="loadTable",
    response_model=LoadTableResult,
    responses={304: {"description": "Not modified"}, **errors(400, 404)},
)
async def load_table(
    request: Request,
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    principal: Authorized,
    snapshots: Annotated[Literal["all", "refs"], Query()] = "all",
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
    access_delegation: AccessDelegation = None,
) -> Response:
    delegation = delegation_for(
        access_delegation, principal, prefix, namespace, str(request.base_url).rstrip("/")
    )
    loaded = await run_in_threadpool(
        catalog.tables.load, prefix, namespace, table, snapshots, if_none_match, delegation
    )
    if isinstance(loaded, str):
        return Response(status_code=304, headers={"ETag": loaded})
    return json_bytes(loaded.body, headers={"ETag": loaded.etag})


@router.get(
    TABLE + "/credentials",
    operation_id="loadCredentials",
    responses=errors(400, 404, 503),
)
async def load_credentials(
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    principal: Authorized,
    plan_id: Annotated[str | None, Query(alias="planId")] = None,
) -> Response:
    """Fresh credentials for a table, read-only unless the caller may write to it."""
    access = delegation_for("vended-credentials", principal, prefix, namespace).access
    result = await run_in_threadpool(
        catalog.tables.load_credentials, prefix, namespace, table, access
    )
    return json_bytes(result, headers={"Cache-Control": "no-store"})


@router.post(
    TABLE + "/sign",
    operation_id="signRequest",
    responses=errors(400, 403, 404, 503),
)
async def sign_request(
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    body: RemoteSignRequest,
    catalog: CatalogDep,
    principal: Authorized,
) -> Response:
    """Sign an S3 request that stays in this table's location (writes only for writers)."""
    may_write = principal.may(Permission.WRITE, prefix, namespace)
    result = await run_in_threadpool(
        catalog.tables.sign_request, prefix, namespace, table, body, may_write
    )
    return json_bytes(result, headers={"Cache-Control": "no-store"})


@router.head(TABLE, operation_id="tableExists", status_code=204, responses=errors(400, 404))
async def table_exists(
    prefix: Prefix, namespace: NamespacePath, table: TablePath, catalog: CatalogDep
) -> Response:
    await run_in_threadpool(catalog.tables.exists, prefix, namespace, table)
    return no_content()


@router.post(
    TABLE,
    operation_id="updateTable",
    response_model=CommitTableResponse,
    responses=errors(400, 404, 409, 500, 503),
)
async def update_table(
    request: Request,
    prefix: Prefix,
    target: TableWriteDep,
    body: CommitTableRequest,
    principal: Authorized,
) -> Response:
    audit = audit_in_change(request.scope, 200)
    result = await run_in_threadpool(
        target.catalog.tables.commit,
        prefix,
        target.namespace,
        target.table,
        body,
        target.ticket,
        placer=principal,
        audit=audit,
    )
    audit_written(request.scope)
    return json_bytes(result)


@router.delete(TABLE, operation_id="dropTable", status_code=204, responses=errors(400, 403, 404))
async def drop_table(
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    ticket: Idempotency,
    actor: ActorDep,
    purge_requested: Annotated[bool, Query(alias="purgeRequested")] = False,
) -> Response:
    """To the warehouse's trash (docs/governance.md); 403 for a protected table."""
    await run_in_threadpool(
        catalog.tables.drop, prefix, namespace, table, purge_requested, ticket, actor
    )
    return no_content()


@router.post(
    TABLE + "/unregister",
    operation_id="unregisterTable",
    response_model=CommitTableResponse,
    responses=errors(400, 404),
)
async def unregister_table(
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    ticket: Idempotency,
) -> Response:
    result = await run_in_threadpool(catalog.tables.unregister, prefix, namespace, table, ticket)
    return json_bytes(result)


@router.post(
    TABLE + "/metrics",
    operation_id="reportMetrics",
    status_code=204,
    responses=errors(400, 404),
)
async def report_metrics(
    prefix: Prefix,
    namespace: NamespacePath,
    table: TablePath,
    body: ReportMetricsRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
) -> Response:
    await run_in_threadpool(catalog.tables.report_metrics, prefix, namespace, table, body, ticket)
    return no_content()


@router.post(
    "/tables/rename",
    operation_id="renameTable",
    status_code=204,
    responses=errors(400, 404, 406, 409),
)
async def rename_table(
    prefix: Prefix, body: RenameTableRequest, catalog: CatalogDep, ticket: Idempotency
) -> Response:
    source = (check_namespace(body.source.namespace), check_object_name(body.source.name))
    destination = (check_namespace(body.destination.namespace), body.destination.name)
    await run_in_threadpool(catalog.tables.rename, prefix, source, destination, ticket, "table")
    return no_content()
