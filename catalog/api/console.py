"""What the web console calls besides the REST and admin APIs: upload slots, committing an
uploaded file (into a table, or as a new table) and a table's data preview.

Scripts use the same calls (docs/console.md, "Loading data with curl"). Uploads need write on
the table's namespace, a preview read; both rules are rows of `catalog.auth.policy`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep, NamespacePath, TablePath
from catalog.api.maintenance import WarehousePath
from catalog.api.responses import errors, json_bytes
from catalog.api.security import Authorized, authorize
from catalog.service.preview import MAX_LIMIT, preview
from catalog.service.rendering import dumps
from catalog.service.uploads import SlotRequest, UploadService

router = APIRouter(prefix="/admin/v1", tags=["Console API"], dependencies=[Depends(authorize)])
NAMESPACE = "/warehouses/{prefix}/namespaces/{namespace}"
TABLE = NAMESPACE + "/tables/{table}"
UploadId = Annotated[str, Path(max_length=4096, description="An upload slot's `upload-id`.")]


async def get_uploads(request: Request) -> UploadService:
    uploads: UploadService = request.app.state.uploads
    return uploads


UploadsDep = Annotated[UploadService, Depends(get_uploads)]


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    file_name: str = Field(alias="file-name", min_length=1, max_length=1024)
    content_type: str = Field(
        alias="content-type", description="application/vnd.apache.parquet or text/csv"
    )
    content_length: int = Field(
        alias="content-length", description="The file's exact size in bytes."
    )

    def slot_request(self) -> SlotRequest:
        return SlotRequest(self.file_name, self.content_type, self.content_length)


class CreateFromUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="The new table's name.")


@router.post(
    TABLE + "/uploads",
    operation_id="createTableUpload",
    status_code=201,
    responses=errors(400, 403, 404),
)
async def create_table_upload(
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    body: UploadRequest,
    uploads: UploadsDep,
) -> Response:
    """A presigned PUT URL for one key under the table's staging prefix, valid briefly, for
    exactly the declared content type and size."""
    result = await run_in_threadpool(
        uploads.table_slot, prefix, namespace, table, body.slot_request()
    )
    return json_bytes(dumps(result), status_code=201)


@router.post(
    TABLE + "/uploads/{upload_id}/commit",
    operation_id="commitTableUpload",
    responses=errors(400, 403, 404, 409),
)
async def commit_table_upload(
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    upload_id: UploadId,
    uploads: UploadsDep,
) -> Response:
    """Check the uploaded file against the table and append it in one commit; the staged
    object is deleted whether it lands or is refused (400, with the reason)."""
    result = await run_in_threadpool(uploads.commit, prefix, namespace, table, upload_id)
    return json_bytes(dumps(result))


@router.post(
    NAMESPACE + "/uploads",
    operation_id="createNamespaceUpload",
    status_code=201,
    responses=errors(400, 403, 404),
)
async def create_namespace_upload(
    prefix: WarehousePath, namespace: NamespacePath, body: UploadRequest, uploads: UploadsDep
) -> Response:
    """An upload slot for a file that will become a new table (`create-table`)."""
    result = await run_in_threadpool(uploads.namespace_slot, prefix, namespace, body.slot_request())
    return json_bytes(dumps(result), status_code=201)


@router.post(
    NAMESPACE + "/uploads/{upload_id}/create-table",
    operation_id="createTableFromUpload",
    responses=errors(400, 403, 404, 409),
)
async def create_table_from_upload(
    prefix: WarehousePath,
    namespace: NamespacePath,
    upload_id: UploadId,
    body: CreateFromUploadRequest,
    uploads: UploadsDep,
    principal: Authorized,
) -> Response:
    """A table whose schema is inferred from the uploaded file, holding its rows."""
    result = await run_in_threadpool(
        uploads.create_table, prefix, namespace, upload_id, body.name, principal
    )
    return json_bytes(dumps(result))


@router.get(TABLE + "/preview", operation_id="previewTable", responses=errors(400, 403, 404))
async def preview_table(
    request: Request,
    prefix: WarehousePath,
    namespace: NamespacePath,
    table: TablePath,
    catalog: CatalogDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    """The first rows of the current snapshot, bounded in rows and bytes."""
    max_bytes: int = request.app.state.settings.preview_max_bytes
    result = await run_in_threadpool(
        preview, catalog.context, prefix, namespace, table, limit, max_bytes
    )
    return json_bytes(dumps(result))
