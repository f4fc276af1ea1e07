"""Data access of catalog functions, kept apart from tables and views (`catalog_functions`).

A replace is the same compare-and-swap as a table's commit: one `UPDATE … WHERE version =
expected`, whose row count says whether another replace moved the function first. Each change
keeps the function's search entry in step, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.exceptions import AlreadyExists, NoSuchNamespace, PointerMoved
from catalog.store.integrity import violation
from catalog.store.models import CatalogFunction, Namespace, utcnow
from catalog.store.records import FunctionRecord, NamespaceRecord
from catalog.store.search_index import SearchIndex

SEPARATOR = "\x1f"


class FunctionQueries:
    """The functions' share of `SqlTransaction` (one unit of work, one session). Each change
    counts for the change events, like the unit of work's other primitives."""

    _session: Session
    _search: SearchIndex
    _changes: int

    def function(
        self, warehouse_id: str, namespace: Sequence[str], name: str
    ) -> FunctionRecord | None:
        row = self._session.execute(
            select(CatalogFunction.id, CatalogFunction.metadata_json, CatalogFunction.version)
            .join(Namespace, Namespace.id == CatalogFunction.namespace_id)
            .where(
                Namespace.warehouse_id == warehouse_id,
                Namespace.name == SEPARATOR.join(namespace),
                CatalogFunction.name == name,
            )
        ).first()
        if row is None:
            return None
        return FunctionRecord(
            row.id, warehouse_id, tuple(namespace), name, row.metadata_json, row.version
        )

    def functions_in(self, namespace: NamespaceRecord) -> list[FunctionRecord]:
        rows = self._session.execute(
            select(
                CatalogFunction.id,
                CatalogFunction.name,
                CatalogFunction.metadata_json,
                CatalogFunction.version,
            )
            .where(CatalogFunction.namespace_id == namespace.id)
            .order_by(CatalogFunction.name)
        )
        return [
            FunctionRecord(
                row.id,
                namespace.warehouse_id,
                namespace.levels,
                row.name,
                row.metadata_json,
                row.version,
            )
            for row in rows
        ]

    def list_functions(self, namespace_id: str, after: str | None, limit: int | None) -> list[str]:
        query = (
            select(CatalogFunction.name)
            .where(CatalogFunction.namespace_id == namespace_id)
            .order_by(CatalogFunction.name)
        )
        if after is not None:
            query = query.where(CatalogFunction.name > after)
        if limit is not None:
            query = query.limit(limit)
        return list(self._session.scalars(query))

    def insert_function(
        self, namespace: NamespaceRecord, name: str, metadata_json: str
    ) -> FunctionRecord:
        function_id = str(uuid.uuid4())
        now = utcnow()
        try:
            self._session.execute(
                insert(CatalogFunction).values(
                    id=function_id,
                    warehouse_id=namespace.warehouse_id,
                    namespace_id=namespace.id,
                    name=name,
                    metadata_json=metadata_json,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        except IntegrityError as error:
            dotted = ".".join((*namespace.levels, name))
            if violation(error) == "unique":
                raise AlreadyExists(f"Function already exists: {dotted}") from error
            raise NoSuchNamespace(
                f"Namespace does not exist: {'.'.join(namespace.levels)}"
            ) from error
        self._search.put_function(
            function_id, namespace.warehouse_id, namespace.levels, name, metadata_json
        )
        self._changes += 1
        return FunctionRecord(
            function_id, namespace.warehouse_id, namespace.levels, name, metadata_json, 1
        )

    def swap_function(self, record: FunctionRecord, metadata_json: str) -> None:
        result = self._session.execute(
            update(CatalogFunction)
            .where(CatalogFunction.id == record.id, CatalogFunction.version == record.version)
            .values(
                metadata_json=metadata_json,
                version=CatalogFunction.version + 1,
                updated_at=utcnow(),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise PointerMoved("The function changed concurrently; refresh and retry")
        self._search.reindex_function(record.id, metadata_json)
        self._changes += 1

    def delete_function(self, record: FunctionRecord) -> bool:
        result = self._session.execute(
            delete(CatalogFunction).where(CatalogFunction.id == record.id)
        )
        deleted = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if deleted:
            self._search.remove(record.id)
        self._changes += deleted
        return deleted
