"""Data access of the trash: dropped tables and views, kept apart from `catalog_objects`.

A drop moves the row here and an undrop moves it back, each in the caller's transaction, with
the same id, pointer and version: the object is exactly what it was. Nothing on the hot paths
(loadTable, listing, the commit's compare-and-swap) reads this table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from catalog.store.models import CatalogFunction, CatalogObject, Namespace, TrashedObject
from catalog.store.records import FunctionRecord, NamespaceRecord, ObjectRecord, TrashRecord
from catalog.store.search_index import SearchIndex

SEPARATOR = "\x1f"


def _levels(name: str) -> tuple[str, ...]:
    return tuple(name.split(SEPARATOR)) if name else ()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _record(row: TrashedObject) -> TrashRecord:
    return TrashRecord(
        id=row.id,
        warehouse_id=row.warehouse_id,
        namespace=_levels(row.namespace),
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        metadata_location=row.metadata_location,
        metadata_json=row.metadata_json,
        location=row.location,
        version=row.version,
        created_at=_aware(row.created_at),
        namespaces={key: dict(value) for key, value in row.namespaces.items()},
        purge_requested=row.purge_requested,
        dropped_by=row.dropped_by,
        dropped_at=_aware(row.dropped_at),
        expires_at=_aware(row.expires_at),
        purge_started_at=_aware(row.purge_started_at) if row.purge_started_at else None,
    )


class TrashQueries:
    """The trash's share of `SqlTransaction` (one unit of work, one session). Moving an object
    in or out of the trash is a change of the catalog: it counts for the change events and
    keeps the search index in step, like the unit of work's other primitives."""

    _session: Session
    _search: SearchIndex
    _changes: int

    def move_to_trash(
        self,
        record: ObjectRecord,
        *,
        namespaces: dict[str, dict[str, str]],
        purge_requested: bool,
        dropped_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> bool:
        """Move a live object to the trash; False when it was no longer there."""
        created_at = self._session.scalar(
            select(CatalogObject.created_at).where(
                CatalogObject.id == record.id,
                CatalogObject.kind == record.kind,
                CatalogObject.version == record.version,
            )
        )
        if created_at is None:
            return False
        result = self._session.execute(
            delete(CatalogObject).where(
                CatalogObject.id == record.id, CatalogObject.version == record.version
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self._enter_trash(
            record,
            kind=record.kind,
            metadata_location=record.metadata_location,
            location=record.location,
            purge_requested=purge_requested,
            created_at=created_at,
            namespaces=namespaces,
            dropped_by=dropped_by,
            now=now,
            expires_at=expires_at,
        )
        return True

    def move_function_to_trash(
        self,
        record: FunctionRecord,
        *,
        namespaces: dict[str, dict[str, str]],
        dropped_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> bool:
        """Move a live function to the trash (no metadata location, no location, nothing to
        purge); False when it was no longer there as read."""
        created_at = self._session.scalar(
            select(CatalogFunction.created_at).where(
                CatalogFunction.id == record.id, CatalogFunction.version == record.version
            )
        )
        if created_at is None:
            return False
        result = self._session.execute(
            delete(CatalogFunction).where(
                CatalogFunction.id == record.id, CatalogFunction.version == record.version
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self._enter_trash(
            record,
            kind="function",
            metadata_location=None,
            location=None,
            purge_requested=False,
            created_at=created_at,
            namespaces=namespaces,
            dropped_by=dropped_by,
            now=now,
            expires_at=expires_at,
        )
        return True

    def _enter_trash(
        self,
        record: ObjectRecord | FunctionRecord,
        *,
        kind: str,
        metadata_location: str | None,
        location: str | None,
        purge_requested: bool,
        created_at: datetime,
        namespaces: dict[str, dict[str, str]],
        dropped_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        """The trash row of an object just deleted from its live table, in the same unit of
        work: out of search, and one change for the change events' count."""
        self._session.execute(
            insert(TrashedObject).values(
                id=record.id,
                warehouse_id=record.warehouse_id,
                namespace=SEPARATOR.join(record.namespace),
                name=record.name,
                kind=kind,
                metadata_location=metadata_location,
                metadata_json=record.metadata_json,
                location=location,
                version=record.version,
                created_at=created_at,
                namespaces=namespaces,
                purge_requested=purge_requested,
                dropped_by=dropped_by,
                dropped_at=now,
                expires_at=expires_at,
                purge_started_at=None,
            )
        )
        self._search.remove(record.id)
        self._changes += 1

    def list_trash(self, warehouse_id: str) -> list[TrashRecord]:
        rows = self._session.scalars(
            select(TrashedObject)
            .where(TrashedObject.warehouse_id == warehouse_id)
            .order_by(TrashedObject.namespace, TrashedObject.name, TrashedObject.dropped_at)
        )
        return [_record(row) for row in rows]

    def trashed(self, warehouse_id: str, namespace: Sequence[str], name: str) -> list[TrashRecord]:
        """What the trash holds under this name, most recently dropped first."""
        rows = self._session.scalars(
            select(TrashedObject)
            .where(
                TrashedObject.warehouse_id == warehouse_id,
                TrashedObject.namespace == SEPARATOR.join(namespace),
                TrashedObject.name == name,
            )
            .order_by(TrashedObject.dropped_at.desc())
        )
        return [_record(row) for row in rows]

    def trashed_by_id(self, trash_id: str) -> TrashRecord | None:
        row = self._session.get(TrashedObject, trash_id)
        return _record(row) if row else None

    def restore_from_trash(self, trash: TrashRecord, namespace: NamespaceRecord, name: str) -> bool:
        """Put a trashed object back as `namespace.name` (a function among the functions),
        with its id, pointer and version;
        False when it left the trash meanwhile or its purge has begun. A name taken since is
        the unique constraint's IntegrityError, for the caller to explain."""
        taken = self._session.execute(
            delete(TrashedObject).where(
                TrashedObject.id == trash.id, TrashedObject.purge_started_at.is_(None)
            )
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return False
        if trash.kind == "function":
            self._session.execute(
                insert(CatalogFunction).values(
                    id=trash.id,
                    warehouse_id=trash.warehouse_id,
                    namespace_id=namespace.id,
                    name=name,
                    metadata_json=trash.metadata_json,
                    version=trash.version,
                    created_at=trash.created_at,
                    updated_at=datetime.now(UTC),
                )
            )
            self._search.put_function(
                trash.id, trash.warehouse_id, namespace.levels, name, trash.metadata_json
            )
            self._changes += 1
            return True
        self._session.execute(
            insert(CatalogObject).values(
                id=trash.id,
                warehouse_id=trash.warehouse_id,
                namespace_id=namespace.id,
                name=name,
                kind=trash.kind,
                metadata_location=trash.metadata_location,
                metadata_json=trash.metadata_json,
                location=trash.location,
                version=trash.version,
                created_at=trash.created_at,
                updated_at=datetime.now(UTC),
            )
        )
        self._search.put_object(
            trash.id, trash.warehouse_id, trash.kind, namespace.levels, name, trash.metadata_json
        )
        self._changes += 1
        return True

    def trash_due(self, now: datetime, stale_claim_before: datetime) -> list[TrashRecord]:
        """Everything whose retention has ended and that no live purge is working on."""
        rows = self._session.scalars(
            select(TrashedObject)
            .where(
                TrashedObject.expires_at <= now,
                TrashedObject.purge_started_at.is_(None)
                | (TrashedObject.purge_started_at < stale_claim_before),
            )
            .order_by(TrashedObject.expires_at)
        )
        return [_record(row) for row in rows]

    def claim_trash(self, trash: TrashRecord, now: datetime) -> bool:
        """Take the right to purge or forget an entry: one conditional write that only one
        process wins, and after which no undrop can take the entry back."""
        claimed = update(TrashedObject).where(TrashedObject.id == trash.id)
        if trash.purge_started_at is None:
            claimed = claimed.where(TrashedObject.purge_started_at.is_(None))
        else:
            claimed = claimed.where(TrashedObject.purge_started_at == trash.purge_started_at)
        result = self._session.execute(
            claimed.values(purge_started_at=now).execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def set_trash_expiry(self, trash_id: str, expires_at: datetime) -> None:
        self._session.execute(
            update(TrashedObject)
            .where(TrashedObject.id == trash_id)
            .values(expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )

    def forget_trash(self, trash_id: str) -> bool:
        result = self._session.execute(delete(TrashedObject).where(TrashedObject.id == trash_id))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def trash_to_purge_overlapping(self, warehouse_id: str, location: str) -> list[str]:
        """Ids of trashed objects whose purge is still to come, at, above or below `location`:
        a live object there would lose its files to that purge."""
        location = location.rstrip("/")
        scheme, _, path = location.partition("://")
        segments = path.split("/")
        ancestors = [f"{scheme}://" + "/".join(segments[:i]) for i in range(1, len(segments) + 1)]
        return list(
            self._session.scalars(
                select(TrashedObject.id).where(
                    TrashedObject.warehouse_id == warehouse_id,
                    TrashedObject.purge_requested.is_(True),
                    TrashedObject.location.in_(ancestors)
                    | TrashedObject.location.startswith(location + "/", autoescape=True),
                )
            )
        )

    def warehouse_has_trash(self, warehouse_id: str) -> bool:
        return (
            self._session.scalar(
                select(TrashedObject.id).where(TrashedObject.warehouse_id == warehouse_id).limit(1)
            )
            is not None
        )

    # the subtree of a namespace, for a recursive drop ------------------------------------
    def namespaces_below(self, warehouse_id: str, levels: Sequence[str]) -> list[NamespaceRecord]:
        """The namespace and every namespace under it, deepest first (the order to drop)."""
        name = SEPARATOR.join(levels)
        rows = self._session.execute(
            select(Namespace.id, Namespace.name, Namespace.properties).where(
                Namespace.warehouse_id == warehouse_id,
                (Namespace.name == name)
                | Namespace.name.startswith(name + SEPARATOR, autoescape=True),
            )
        ).all()
        # LIKE ignores ASCII case on SQLite: the prefix is checked again, exactly.
        found = [
            NamespaceRecord(row.id, warehouse_id, _levels(row.name), dict(row.properties))
            for row in rows
            if _levels(row.name)[: len(levels)] == tuple(levels)
        ]
        return sorted(found, key=lambda ns: (-len(ns.levels), ns.levels))

    def objects_in(self, namespace: NamespaceRecord) -> list[ObjectRecord]:
        rows = self._session.scalars(
            select(CatalogObject)
            .where(CatalogObject.namespace_id == namespace.id)
            .order_by(CatalogObject.name)
        )
        return [
            ObjectRecord(
                row.id,
                namespace.warehouse_id,
                namespace.levels,
                row.name,
                row.kind,  # type: ignore[arg-type]
                row.metadata_location,
                row.metadata_json,
                row.version,
                row.location,
            )
            for row in rows
        ]
