"""Loading a file from a browser or a script: a slot to PUT it into, then one commit.

1. `slot` answers a presigned PUT URL for one fresh key under the table's staging prefix
   (`upload_slots`); the client PUTs the file straight to the object store.
2. `commit` reads the staged object through the table's confined storage (credentials vended
   for the table, never root keys), checks it (`upload_files`), appends it in one commit
   through the catalog's own commit path (requirements, compare-and-swap, approval, events),
   and deletes the staged object: also when it refuses, so a refusal leaves nothing behind.
`create_table` is `commit` for a table the file's schema defines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException, CommitStateUnknownException
from pyiceberg.table import Table

from catalog.exceptions import BadRequest, CatalogError, CommitFailed, CommitStateUnknown
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.protocol import CreateTableRequest
from catalog.service.context import ServiceContext
from catalog.service.identifiers import check_new_name
from catalog.service.namespaces import require_namespace
from catalog.service.placement import Placer
from catalog.service.table_storage import TableStorage
from catalog.service.tables import TableService
from catalog.service.upload_files import fit_to_schema, infer_schema, read_file
from catalog.service.upload_slots import (
    CSV,
    SlotSeal,
    UploadSlot,
    check_request,
    presigned_url,
    staged_location,
)
from catalog.store.records import WarehouseRecord
from storage.io import ObjectMissing

log = logging.getLogger("icefloe.uploads")


@dataclass(frozen=True)
class SlotRequest:
    file_name: str
    content_type: str
    content_length: int


class UploadService:
    def __init__(
        self,
        context: ServiceContext,
        tables: TableService,
        seal: SlotSeal,
        expiry: timedelta,
        max_bytes: int,
    ) -> None:
        self._context = context
        self._tables = tables
        self._seal = seal
        self._expiry = expiry
        self._max_bytes = max_bytes

    # --- slots --------------------------------------------------------------------------

    def table_slot(
        self, warehouse: str, namespace: Sequence[str], name: str, request: SlotRequest
    ) -> dict[str, Any]:
        """A slot under the table's own location: `<location>/staging/uploads/<uuid>/<name>`."""
        check_request(request.content_type, request.content_length, self._max_bytes)
        table = self._load(warehouse, namespace, name)
        base = table.metadata.location
        return self._slot(warehouse, namespace, str(table.metadata.table_uuid), base, request)

    def namespace_slot(
        self, warehouse: str, namespace: Sequence[str], request: SlotRequest
    ) -> dict[str, Any]:
        """A slot for a table still to be created, under the warehouse's staging prefix."""
        check_request(request.content_type, request.content_length, self._max_bytes)
        with self._context.store.read() as tx:
            record = self._context.warehouse(tx, warehouse)
            require_namespace(tx, record.id, namespace)
        return self._slot(warehouse, namespace, None, record.location, request)

    def _slot(
        self,
        warehouse: str,
        namespace: Sequence[str],
        table_uuid: str | None,
        base: str,
        request: SlotRequest,
    ) -> dict[str, Any]:
        expires_at = int(time.time() + self._expiry.total_seconds())
        slot = UploadSlot(
            warehouse,
            tuple(namespace),
            table_uuid,
            staged_location(base, request.file_name),
            request.content_type,
            request.content_length,
            expires_at,
        )
        url = presigned_url(self._context, self._warehouse(warehouse), slot, self._expiry)
        return {
            "upload-id": self._seal.seal(slot),
            "url": url,
            "method": "PUT",
            "headers": {"Content-Type": slot.content_type},
            "expires-at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
            "max-bytes": slot.max_bytes,
            "content-type": slot.content_type,
            "key": slot.location.split("://", 1)[1].split("/", 1)[1],
        }

    # --- commits ------------------------------------------------------------------------

    def commit(
        self, warehouse: str, namespace: Sequence[str], name: str, upload_id: str
    ) -> dict[str, Any]:
        slot = self._open(upload_id, warehouse, namespace)
        table = self._load(warehouse, namespace, name)
        if slot.table_uuid is None or slot.table_uuid != str(table.metadata.table_uuid):
            raise BadRequest(
                f"This upload slot was made for another table, not {'.'.join(namespace)}.{name}"
            )
        files = TableStorage(self._context, self._warehouse(warehouse), table.metadata.location)
        with _staged(files, slot) as data:
            rows = fit_to_schema(data, table.schema(), from_csv=slot.content_type == CSV)
            _append(table, rows)
        snapshot = table.current_snapshot()
        assert snapshot is not None
        summary = snapshot.summary
        return {
            "rows-added": rows.num_rows,
            "data-files-added": int(summary.get("added-data-files", "0")) if summary else 0,
            "snapshot-id": snapshot.snapshot_id,
            "table-row-count": int(summary.get("total-records", "0")) if summary else 0,
        }

    def create_table(
        self,
        warehouse: str,
        namespace: Sequence[str],
        upload_id: str,
        name: str,
        placer: Placer,
    ) -> dict[str, Any]:
        slot = self._open(upload_id, warehouse, namespace)
        if slot.table_uuid is not None:
            raise BadRequest("This upload slot was made for an existing table: commit it there")
        check_new_name(name)
        record = self._warehouse(warehouse)
        staging = slot.location.rsplit("/", 1)[0]
        files = TableStorage(self._context, record, staging)
        with _staged(files, slot) as data:
            schema, rows = infer_schema(data)
            request = CreateTableRequest.model_validate(
                {"name": name, "schema": schema.model_dump(mode="json", by_alias=True)}
            )
            self._tables.create(warehouse, namespace, request, None, placer=placer)
            table = self._load(warehouse, namespace, name)
            try:
                _append(table, rows)
            except BaseException:
                self._tables.drop(warehouse, namespace, name, purge=True, ticket=None)
                raise
        return {
            "table": name,
            "rows-added": rows.num_rows,
            "schema": table.schema().model_dump(mode="json", by_alias=True),
        }

    # --- helpers ------------------------------------------------------------------------

    def _open(self, upload_id: str, warehouse: str, namespace: Sequence[str]) -> UploadSlot:
        slot = self._seal.open(upload_id)
        if slot.warehouse != warehouse or slot.namespace != tuple(namespace):
            raise BadRequest("This upload slot was made for another namespace or warehouse")
        return slot

    def _warehouse(self, name: str) -> WarehouseRecord:
        with self._context.store.read() as tx:
            return self._context.warehouse(tx, name)

    def _load(self, warehouse: str, namespace: Sequence[str], name: str) -> Table:
        return ServiceCatalog(self._context, warehouse).load_table((*namespace, name))


def _append(table: Table, rows: pa.Table) -> None:
    """pyiceberg's append (it writes the files the table's partitioning asks for) through the
    maintenance catalog's commit; a lost race answers as any client's commit would (409)."""
    try:
        table.append(rows)
    except CommitFailedException as error:
        raise CommitFailed(str(error)) from error
    except CommitStateUnknownException as error:
        raise CommitStateUnknown(str(error)) from error


class _staged:  # noqa: N801 - used as a context manager, like `open`
    """The staged file's rows for the body of a `with`; the staged object is deleted when
    the block ends, whether it committed or refused."""

    def __init__(self, files: TableStorage, slot: UploadSlot) -> None:
        self._files = files
        self._slot = slot

    def __enter__(self) -> pa.Table:
        if self._slot.expired:
            self._delete()
            raise BadRequest("This upload slot has expired: ask for a new one")
        try:
            data = self._files.store.read(self._slot.location)
        except ObjectMissing:
            raise BadRequest(
                "Nothing was uploaded to this slot, or it was committed already"
            ) from None
        if len(data) > self._slot.max_bytes:
            self._delete()
            raise BadRequest(f"The file is larger than the slot's {self._slot.max_bytes} bytes")
        try:
            return read_file(data, self._slot.content_type)
        except CatalogError:
            self._delete()
            raise

    def __exit__(self, *_: object) -> None:
        self._delete()

    def _delete(self) -> None:
        try:
            self._files.store.delete(self._slot.location)
        except Exception as error:  # a leftover is harmless; orphan removal takes it
            log.warning("event=upload_not_deleted location=%s error=%s", self._slot.location, error)
