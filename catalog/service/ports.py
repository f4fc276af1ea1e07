"""What the service needs from the outside, as Protocols: a store and object storage.

The SQL store (`catalog.store.repository`) and the pyarrow-backed object stores
(`storage.io`) satisfy these; the service never imports SQLAlchemy or FastAPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from catalog.store.records import (
    IdempotencyTicket,
    NamespaceRecord,
    ObjectKind,
    ObjectRecord,
    PointerSwap,
    StoredResponse,
    WarehouseRecord,
)


class CatalogTransaction(Protocol):
    def warehouse_by_name(self, name: str) -> WarehouseRecord | None: ...
    def list_warehouses(self) -> list[WarehouseRecord]: ...
    def insert_warehouse(
        self, name: str, location: str, storage: dict[str, Any], properties: dict[str, str]
    ) -> WarehouseRecord: ...
    def delete_warehouse(self, warehouse_id: str) -> None: ...

    def namespace(self, warehouse_id: str, levels: Sequence[str]) -> NamespaceRecord | None: ...
    def list_namespaces(
        self, warehouse_id: str, parent: Sequence[str], after: str | None, limit: int | None
    ) -> list[tuple[str, ...]]: ...
    def insert_namespace(
        self,
        warehouse_id: str,
        levels: Sequence[str],
        properties: dict[str, str],
        parent_id: str | None,
    ) -> NamespaceRecord: ...
    def delete_namespace(self, namespace: NamespaceRecord) -> None: ...
    def set_namespace_properties(self, namespace_id: str, properties: dict[str, str]) -> None: ...
    def lock_namespace(self, namespace_id: str) -> dict[str, str] | None: ...

    def object(
        self, warehouse_id: str, namespace: Sequence[str], name: str
    ) -> ObjectRecord | None: ...
    def list_objects(
        self, namespace_id: str, kind: ObjectKind, after: str | None, limit: int | None
    ) -> list[str]: ...
    def insert_object(
        self,
        namespace: NamespaceRecord,
        name: str,
        kind: ObjectKind,
        metadata_location: str,
        metadata_json: str,
    ) -> ObjectRecord: ...
    def swap(self, swaps: Sequence[PointerSwap]) -> None: ...
    def delete_object(self, record: ObjectRecord) -> bool: ...
    def move_object(self, record: ObjectRecord, namespace: NamespaceRecord, name: str) -> None: ...

    def stored_response(self, key: str, not_before: datetime) -> StoredResponse | None: ...
    def save_response(self, ticket: IdempotencyTicket, body: bytes) -> None: ...
    def forget_responses_before(self, cutoff: datetime) -> int: ...
    def insert_metrics(
        self,
        warehouse_id: str,
        namespace: Sequence[str],
        table: str,
        report_type: str,
        report: dict[str, Any],
    ) -> None: ...


class CatalogStore(Protocol):
    def read(self) -> AbstractContextManager[CatalogTransaction]: ...
    def write(self) -> AbstractContextManager[CatalogTransaction]: ...
