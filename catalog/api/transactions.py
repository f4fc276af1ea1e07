"""POST /v1/{prefix}/transactions/commit: several tables, all or nothing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep, Idempotency, Prefix
from catalog.api.middleware import audit_in_change, audit_written
from catalog.api.responses import errors, no_content
from catalog.api.security import Authorized, authorize
from catalog.protocol import CommitTransactionRequest

router = APIRouter(prefix="/v1/{prefix}", tags=["Catalog API"], dependencies=[Depends(authorize)])


@router.post(
    "/transactions/commit",
    operation_id="commitTransaction",
    status_code=204,
    responses=errors(400, 404, 409, 500, 503),
)
async def commit_transaction(
    request: Request,
    prefix: Prefix,
    body: CommitTransactionRequest,
    catalog: CatalogDep,
    ticket: Idempotency,
    principal: Authorized,
) -> Response:
    audit = audit_in_change(request.scope, 204)
    await run_in_threadpool(
        catalog.tables.commit_transaction,
        prefix,
        body.table_changes,
        ticket,
        placer=principal,
        audit=audit,
    )
    audit_written(request.scope)
    return no_content()
