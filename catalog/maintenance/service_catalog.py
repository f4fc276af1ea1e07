"""A PyIceberg catalog that calls the service layer in-process.

Maintenance uses pyiceberg's own table operations (scans, snapshot producers, expiration) on
tables loaded with a `ConfinedFileIO` (their files only, with credentials vended for them), and
its commits go through `Committer.commit`: the same requirement checks and compare-and-swap as
any client's commit over HTTP. A lost race surfaces as pyiceberg's `CommitFailedException`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import orjson
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    NoSuchTableError,
)
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties

from catalog.exceptions import CommitFailed, CommitStateUnknown, NoSuchTable
from catalog.maintenance.table_io import ConfinedFileIO, TableStorage
from catalog.protocol import CommitTableRequest
from catalog.service.commits import Committer, TableChange
from catalog.service.context import ServiceContext
from catalog.service.table_metadata import parse_table_metadata
from catalog.service.tables import require_object
from catalog.store.records import WarehouseRecord

if TYPE_CHECKING:
    from pyiceberg.schema import Schema


class ServiceCatalog(Catalog):
    """Loads and commits tables of one warehouse through the service layer."""

    def __init__(self, context: ServiceContext, warehouse: str) -> None:
        super().__init__(f"icefloe-maintenance-{warehouse}")
        self._context = context
        self._warehouse = warehouse
        self._committer = Committer(context)

    def _split(self, identifier: str | Identifier) -> tuple[tuple[str, ...], str]:
        parts = self.identifier_to_tuple(identifier)
        if len(parts) < 2:
            raise NoSuchTableError(f"Not a table identifier: {parts}")
        return tuple(parts[:-1]), parts[-1]

    def warehouse_record(self) -> WarehouseRecord:
        with self._context.store.read() as tx:
            return self._context.warehouse(tx, self._warehouse)

    def load_table(self, identifier: str | Identifier) -> Table:
        """Raises our `NoSuchTable`/`NoSuchWarehouse` (the engine's callers map those)."""
        namespace, name = self._split(identifier)
        with self._context.store.read() as tx:
            warehouse = self._context.warehouse(tx, self._warehouse)
            record = require_object(tx, warehouse.id, namespace, name, "table")
        metadata = parse_table_metadata(record.metadata_json)
        return Table(
            identifier=(*namespace, name),
            metadata=metadata,
            metadata_location=record.metadata_location,
            io=ConfinedFileIO(TableStorage(self._context, warehouse, metadata.location)),
            catalog=self,
        )

    def commit_table(
        self,
        table: Table,
        requirements: tuple[TableRequirement, ...],
        updates: tuple[TableUpdate, ...],
    ) -> CommitTableResponse:
        namespace, name = self._split(table.name())
        request = CommitTableRequest.model_validate(
            {
                "identifier": {"namespace": list(namespace), "name": name},
                "requirements": [r.model_dump(mode="json", by_alias=True) for r in requirements],
                "updates": [u.model_dump(mode="json", by_alias=True) for u in updates],
            }
        )
        try:
            body = self._committer.commit(
                self._warehouse,
                [TableChange(namespace, name, request)],
                None,
                respond_with_first=True,
                placer=None,
            )
        except CommitFailed as error:
            raise CommitFailedException(error.message) from error
        except CommitStateUnknown as error:
            raise CommitStateUnknownException(error.message) from error
        except NoSuchTable as error:
            raise NoSuchTableError(error.message) from error
        document: dict[str, Any] = orjson.loads(body)
        return CommitTableResponse(
            metadata=parse_table_metadata(orjson.dumps(document["metadata"]).decode("utf-8")),
            metadata_location=document["metadata-location"],
        )

    # Maintenance never creates, drops, renames or lists anything. -------------------------
    def _unsupported(self, *_: Any, **__: Any) -> NoReturn:
        raise NotImplementedError(
            "The maintenance catalog only loads and commits existing tables; "
            "use the REST API for anything else"
        )

    def create_table(
        self,
        identifier: str | Identifier,
        schema: Schema | Any,
        location: str | None = None,
        partition_spec: Any = None,
        sort_order: Any = None,
        properties: Properties = EMPTY_DICT,
    ) -> Table:
        self._unsupported()

    def create_table_transaction(self, *args: Any, **kwargs: Any) -> Any:
        self._unsupported()

    def table_exists(self, identifier: str | Identifier) -> bool:
        self._unsupported()

    def view_exists(self, identifier: str | Identifier) -> bool:
        self._unsupported()

    def namespace_exists(self, namespace: str | Identifier) -> bool:
        self._unsupported()

    def register_table(
        self, identifier: str | Identifier, metadata_location: str, overwrite: bool = False
    ) -> Table:
        self._unsupported()

    def drop_table(self, identifier: str | Identifier) -> None:
        self._unsupported()

    def purge_table(self, identifier: str | Identifier) -> None:
        self._unsupported()

    def rename_table(
        self, from_identifier: str | Identifier, to_identifier: str | Identifier
    ) -> Table:
        self._unsupported()

    def create_namespace(
        self, namespace: str | Identifier, properties: Properties = EMPTY_DICT
    ) -> None:
        self._unsupported()

    def drop_namespace(self, namespace: str | Identifier) -> None:
        self._unsupported()

    def list_tables(self, namespace: str | Identifier) -> list[Identifier]:
        self._unsupported()

    def list_namespaces(self, namespace: str | Identifier = ()) -> list[Identifier]:
        self._unsupported()

    def list_views(self, namespace: str | Identifier) -> list[Identifier]:
        self._unsupported()

    def load_view(self, identifier: str | Identifier) -> Any:
        self._unsupported()

    def load_namespace_properties(self, namespace: str | Identifier) -> Properties:
        self._unsupported()

    def update_namespace_properties(
        self,
        namespace: str | Identifier,
        removals: set[str] | None = None,
        updates: Properties = EMPTY_DICT,
    ) -> Any:
        self._unsupported()

    def register_view(self, identifier: str | Identifier, metadata_location: str) -> Any:
        self._unsupported()

    def drop_view(self, identifier: str | Identifier) -> None:
        self._unsupported()

    def create_view(self, *args: Any, **kwargs: Any) -> Any:
        self._unsupported()

    def supports_server_side_planning(self) -> bool:
        return False
