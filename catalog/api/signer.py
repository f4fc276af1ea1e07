"""The S3 signer protocol (`s3-signer-open-api.yaml`): POST /v1/aws/s3/sign.

Older clients (Java's `s3.remote-signing-enabled` with the default `s3.signer.endpoint`) call
this route, which names no table: the table is found by the request's URL, and the caller must
be allowed on that table's namespace exactly as on the per-table sign route.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep
from catalog.api.responses import errors, json_bytes
from catalog.api.security import Authorized, authorize
from catalog.auth.principal import Permission
from catalog.exceptions import Forbidden
from catalog.protocol import RemoteSignRequest

router = APIRouter(tags=["S3 Signer API"], dependencies=[Depends(authorize)])


@router.post("/v1/aws/s3/sign", operation_id="signS3Request", responses=errors(400, 403, 503))
async def sign_s3_request(
    body: RemoteSignRequest, catalog: CatalogDep, principal: Authorized
) -> Response:
    warehouse, namespace, table = await run_in_threadpool(catalog.tables.locate, body)
    if not principal.may(Permission.READ, warehouse, namespace):
        raise Forbidden("No access to the table this request falls in")
    may_write = principal.may(Permission.WRITE, warehouse, namespace)
    result = await run_in_threadpool(
        catalog.tables.sign_request, warehouse, namespace, table, body, may_write
    )
    return json_bytes(result, headers={"Cache-Control": "no-store"})
