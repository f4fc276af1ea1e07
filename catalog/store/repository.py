"""The SQL implementation of the catalog store: short transactions, one compare-and-swap.

The service composes the primitives below inside `read()` or `write()` units of work. Every
write that decides a commit is a single `UPDATE ... WHERE version = expected`; its row count
is the whole concurrency story, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from catalog.events.types import ChangeEvent
from catalog.exceptions import (
    AlreadyExists,
    BadRequest,
    CommitFailed,
    Conflict,
    DatabaseUnavailable,
    IdempotencyKeyTaken,
    NamespaceNotEmpty,
    NoSuchNamespace,
    PointerMoved,
)
from catalog.integers import integer_problem, metadata_problem
from catalog.store.database import WRITE_OPTIONS
from catalog.store.functions import FunctionQueries
from catalog.store.integrity import violation as _violation
from catalog.store.models import (
    ApiToken,
    AuditEvent,
    CatalogFunction,
    CatalogObject,
    IdempotencyRecord,
    MaintenanceLease,
    MaintenancePolicyRow,
    MaintenanceRun,
    MetricsReport,
    Namespace,
    Warehouse,
    utcnow,
)
from catalog.store.plan_cancellations import PlanCancellationQueries
from catalog.store.records import (
    AuditRecord,
    CommitTarget,
    IdempotencyTicket,
    LeaseRecord,
    MaintenancePolicyRecord,
    MaintenanceRunRecord,
    NamespaceRecord,
    ObjectKind,
    ObjectRecord,
    PointerSwap,
    SearchHit,
    StoredResponse,
    TokenRecord,
    WarehouseRecord,
)
from catalog.store.search_index import INDEXED_PARTS, SearchIndex
from catalog.store.table_commits import (
    INSERT_AUDIT,
    INSERT_EVENT,
    SEPARATOR,
    SWAP,
    SWAP_WITH_EVENT,
    WAREHOUSE_COLUMNS,
    TableCommits,
    TableSwap,
    audit_row,
    event_row,
)
from catalog.store.trash import TrashQueries
from storage.locations import is_within

# The database is down, unreachable, or every pooled connection is busy past the pool timeout.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)

# The reads most requests start with, built once: an ORM statement with its values inline
# costs ~0.3 ms of CPU per call to build, key and look up in the compiled cache; these run on
# the session's connection in the same transaction for a sixth of that. Core runs the columns'
# result processors as the ORM does (JSON decoded, the same datetimes), so the records are the
# same; nothing is ever left unflushed in a session (`insert_warehouse` flushes), so the ORM's
# autoflush before a query had nothing to do. The commit's own statements (the swap, its audit
# and outbox rows, the read of its target) are in `table_commits`.
_objects: Table = CatalogObject.__table__  # type: ignore[assignment]
_warehouses: Table = Warehouse.__table__  # type: ignore[assignment]
_namespaces: Table = Namespace.__table__  # type: ignore[assignment]
_WAREHOUSE_BY_NAME = select(*WAREHOUSE_COLUMNS).where(_warehouses.c.name == bindparam("name"))
_NAMESPACE = select(_namespaces.c.id, _namespaces.c.properties).where(
    _namespaces.c.warehouse_id == bindparam("warehouse_id"),
    _namespaces.c.name == bindparam("name"),
)
_OBJECT = (
    select(
        _objects.c.id,
        _objects.c.kind,
        _objects.c.metadata_location,
        _objects.c.metadata_json,
        _objects.c.version,
        _objects.c.location,
    )
    .join(_namespaces, _namespaces.c.id == _objects.c.namespace_id)
    .where(
        _namespaces.c.warehouse_id == bindparam("warehouse_id"),
        _namespaces.c.name == bindparam("namespace"),
        _objects.c.name == bindparam("name"),
    )
)


def join_levels(levels: Sequence[str]) -> str:
    return SEPARATOR.join(levels)


def split_levels(name: str) -> tuple[str, ...]:
    return tuple(name.split(SEPARATOR)) if name else ()


def _storable(metadata_json: str, new_parts: Mapping[str, Any] | None = None) -> str:
    """The last guard of stored metadata: whichever code path produced the document, no float
    stands where the Iceberg spec has an integer and no integer exceeds 64 bits, for a table
    whose metadata no longer parses can neither be loaded nor committed to again.
    Requests are refused earlier, with the field named in the body's terms (protocol.Body).

    A swap that names its `new_parts` (the rest being the stored document it replaces, which
    passed this guard) has only those checked: the guard then costs what the commit adds, not
    what the history holds. The parts are decoded objects, their integers exact."""
    problem = (
        metadata_problem(metadata_json) if new_parts is None else integer_problem(dict(new_parts))
    )
    if problem is not None:
        raise BadRequest(f"Refusing to store metadata with a number of the wrong type: {problem}")
    return metadata_json


def _warehouse(row: Warehouse | Row[*tuple[Any, ...]]) -> WarehouseRecord:
    """From an ORM row or a Core one with the same columns (`_WAREHOUSE_BY_NAME`)."""
    return WarehouseRecord(
        id=row.id,
        name=row.name,
        location=row.location,
        storage=dict(row.storage),
        properties=dict(row.properties),
        created_at=row.created_at,
        approval=dict(row.approval) if row.approval else None,
    )


def _token(row: ApiToken) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        secret_hash=row.secret_hash,
        permission=row.permission,
        warehouses=tuple(row.warehouses) if row.warehouses is not None else None,
        namespaces=tuple(tuple(n) for n in row.namespaces) if row.namespaces is not None else None,
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at) if row.expires_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
        generation=row.generation,
    )


def _run(row: MaintenanceRun) -> MaintenanceRunRecord:
    return MaintenanceRunRecord(
        id=row.id,
        warehouse=row.warehouse,
        namespace=split_levels(row.namespace),
        table=row.table_name,
        kind=row.kind,
        trigger=row.trigger,
        dry_run=row.dry_run,
        runner=row.runner,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        outcome=row.outcome,
        error=row.error,
        files_before=row.files_before,
        files_after=row.files_after,
        bytes_rewritten=row.bytes_rewritten,
        files_deleted=row.files_deleted,
        snapshots_expired=row.snapshots_expired,
        details=dict(row.details),
    )


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SqlTransaction(TrashQueries, FunctionQueries, PlanCancellationQueries):
    """One unit of work against the store.

    It counts the namespaces, tables and views it changes and the change events emitted
    (`emit`, or with a pointer swap); `SqlCatalogStore.write` writes the events in the same
    transaction (`write_events`), and refuses to commit a change that has no event."""

    def __init__(self, session: Session, event_source: str = "") -> None:
        self._session = session
        self._search = SearchIndex(session)
        self._source = event_source
        self._changes = 0
        self._events: list[ChangeEvent] = []
        self._written = 0  # events already in the outbox, sent with their swap

    # change events ----------------------------------------------------------------------
    def emit(self, event: ChangeEvent) -> None:
        """Record `event` in this unit of work: it is written only if the change commits."""
        self._events.append(event)

    def write_events(self) -> None:
        """The outbox rows of this unit of work not yet written: one multi-row INSERT, sent
        with the rest of the transaction before COMMIT."""
        emitted = len(self._events) + self._written
        if self._changes != emitted:
            raise RuntimeError(
                f"A catalog change without its event: {self._changes} changes, "
                f"{emitted} events; nothing was written"
            )
        if not self._events:
            return
        now = utcnow()
        self._session.connection().execute(
            INSERT_EVENT, [event_row(event, self._source, now) for event in self._events]
        )

    # warehouses -------------------------------------------------------------------------
    def warehouse_by_name(self, name: str) -> WarehouseRecord | None:
        row = self._session.connection().execute(_WAREHOUSE_BY_NAME, {"name": name}).first()
        return _warehouse(row) if row is not None else None

    def list_warehouses(self) -> list[WarehouseRecord]:
        rows = self._session.scalars(select(Warehouse).order_by(Warehouse.name))
        return [_warehouse(row) for row in rows]

    def insert_warehouse(
        self, name: str, location: str, storage: dict[str, Any], properties: dict[str, str]
    ) -> WarehouseRecord:
        row = Warehouse(
            id=str(uuid.uuid4()),
            name=name,
            location=location,
            storage=storage,
            properties=properties,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        self._session.add(row)
        try:
            self._session.flush()
        except IntegrityError as error:
            raise AlreadyExists(f"Warehouse already exists: {name}") from error
        return _warehouse(row)

    def set_warehouse_properties(self, warehouse_id: str, properties: dict[str, str]) -> None:
        self._session.execute(
            update(Warehouse)
            .where(Warehouse.id == warehouse_id)
            .values(properties=properties, updated_at=utcnow())
        )

    def update_warehouse_storage(self, warehouse_id: str, storage: dict[str, Any]) -> None:
        self._session.execute(
            update(Warehouse)
            .where(Warehouse.id == warehouse_id)
            .values(storage=storage, updated_at=utcnow())
        )

    def delete_warehouse(self, warehouse_id: str) -> None:
        in_use = self._session.scalar(
            select(exists().where(Namespace.warehouse_id == warehouse_id))
        )
        if in_use:
            raise Conflict("Warehouse is not empty: drop its namespaces first")
        if self.warehouse_has_trash(warehouse_id):
            raise Conflict(
                "Warehouse has tables or views in its trash: undrop them or let them expire"
            )
        self._session.execute(delete(Warehouse).where(Warehouse.id == warehouse_id))

    # namespaces -------------------------------------------------------------------------
    def namespace(self, warehouse_id: str, levels: Sequence[str]) -> NamespaceRecord | None:
        values = {"warehouse_id": warehouse_id, "name": join_levels(levels)}
        row = self._session.connection().execute(_NAMESPACE, values).first()
        if row is None:
            return None
        return NamespaceRecord(
            id=row.id, warehouse_id=warehouse_id, levels=tuple(levels), properties=row.properties
        )

    def list_namespaces(
        self, warehouse_id: str, parent: Sequence[str], after: str | None, limit: int | None
    ) -> list[tuple[str, ...]]:
        query = (
            select(Namespace.name)
            .where(Namespace.warehouse_id == warehouse_id, Namespace.parent == join_levels(parent))
            .order_by(Namespace.name)
        )
        if after is not None:
            query = query.where(Namespace.name > after)
        if limit is not None:
            query = query.limit(limit)
        return [split_levels(name) for name in self._session.scalars(query)]

    def insert_namespace(
        self,
        warehouse_id: str,
        levels: Sequence[str],
        properties: dict[str, str],
        parent_id: str | None,
    ) -> NamespaceRecord:
        namespace_id = str(uuid.uuid4())
        try:
            self._session.execute(
                insert(Namespace).values(
                    id=namespace_id,
                    warehouse_id=warehouse_id,
                    name=join_levels(levels),
                    parent=join_levels(levels[:-1]),
                    parent_id=parent_id,
                    properties=properties,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        except IntegrityError as error:
            if _violation(error) == "unique":
                raise AlreadyExists(f"Namespace already exists: {'.'.join(levels)}") from error
            raise NoSuchNamespace(
                f"Parent namespace does not exist: {'.'.join(levels[:-1])}"
            ) from error
        self._search.put_namespace(namespace_id, warehouse_id, levels, properties)
        self._changes += 1
        return NamespaceRecord(namespace_id, warehouse_id, tuple(levels), properties)

    def delete_namespace(self, namespace: NamespaceRecord) -> None:
        has_children = self._session.scalar(
            select(
                exists().where(Namespace.parent_id == namespace.id)
                | exists().where(CatalogObject.namespace_id == namespace.id)
                | exists().where(CatalogFunction.namespace_id == namespace.id)
            )
        )
        if has_children:
            raise NamespaceNotEmpty(
                f"Namespace is not empty: {'.'.join(namespace.levels)} still holds tables, "
                "views, functions or namespaces"
            )
        try:
            self._session.execute(delete(Namespace).where(Namespace.id == namespace.id))
        except IntegrityError as error:
            raise NamespaceNotEmpty(
                f"Namespace is not empty: {'.'.join(namespace.levels)}"
            ) from error
        self._search.remove(namespace.id)
        self._changes += 1

    def set_namespace_properties(self, namespace_id: str, properties: dict[str, str]) -> None:
        self._session.execute(
            update(Namespace)
            .where(Namespace.id == namespace_id)
            .values(properties=properties, updated_at=utcnow())
        )
        self._search.set_properties(namespace_id, properties)
        self._changes += 1

    def lock_namespace(self, namespace_id: str) -> dict[str, str] | None:
        """Read a namespace's properties, holding its row until the transaction ends."""
        query = select(Namespace.properties).where(Namespace.id == namespace_id)
        if self._session.bind is not None and self._session.bind.dialect.name != "sqlite":
            query = query.with_for_update()
        return self._session.scalar(query)

    # tables and views -------------------------------------------------------------------
    def object(self, warehouse_id: str, namespace: Sequence[str], name: str) -> ObjectRecord | None:
        values = {"warehouse_id": warehouse_id, "namespace": join_levels(namespace), "name": name}
        row = self._session.connection().execute(_OBJECT, values).first()
        if row is None:
            return None
        return _object_at(row, row.id, row.location, warehouse_id, tuple(namespace), name)

    def objects_overlapping(self, warehouse_id: str, location: str) -> list[tuple[str, str]]:
        """(object id, location) of every table or view at, above or below `location`."""
        location = location.rstrip("/")
        scheme, _, path = location.partition("://")
        segments = path.split("/")
        ancestors = [f"{scheme}://" + "/".join(segments[:i]) for i in range(1, len(segments) + 1)]
        rows = self._session.execute(
            select(CatalogObject.id, CatalogObject.location).where(
                CatalogObject.warehouse_id == warehouse_id,
                CatalogObject.location.in_(ancestors)
                | CatalogObject.location.startswith(location + "/", autoescape=True),
            )
        )
        return [(row.id, row.location) for row in rows]

    def object_at(self, warehouse_id: str, location: str) -> ObjectRecord | None:
        """The table or view whose location contains `location`, if any."""
        for object_id, _ in self.objects_overlapping(warehouse_id, location):
            row = self._session.execute(
                select(CatalogObject, Namespace.name)
                .join(Namespace, Namespace.id == CatalogObject.namespace_id)
                .where(CatalogObject.id == object_id)
            ).first()
            if row is not None and is_within(location, row[0].location):
                item = row[0]
                return ObjectRecord(
                    item.id,
                    warehouse_id,
                    split_levels(row[1]),
                    item.name,
                    item.kind,  # type: ignore[arg-type]
                    item.metadata_location,
                    item.metadata_json,
                    item.version,
                    item.location,
                )
        return None

    def list_objects(
        self, namespace_id: str, kind: ObjectKind, after: str | None, limit: int | None
    ) -> list[str]:
        query = (
            select(CatalogObject.name)
            .where(CatalogObject.namespace_id == namespace_id, CatalogObject.kind == kind)
            .order_by(CatalogObject.name)
        )
        if after is not None:
            query = query.where(CatalogObject.name > after)
        if limit is not None:
            query = query.limit(limit)
        return list(self._session.scalars(query))

    def insert_object(
        self,
        namespace: NamespaceRecord,
        name: str,
        kind: ObjectKind,
        metadata_location: str,
        metadata_json: str,
        location: str,
    ) -> ObjectRecord:
        object_id = str(uuid.uuid4())
        try:
            self._session.execute(
                insert(CatalogObject).values(
                    id=object_id,
                    warehouse_id=namespace.warehouse_id,
                    namespace_id=namespace.id,
                    name=name,
                    kind=kind,
                    metadata_location=metadata_location,
                    metadata_json=_storable(metadata_json),
                    location=location.rstrip("/"),
                    version=1,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        except IntegrityError as error:
            if _violation(error) == "unique":
                existing = self.object(namespace.warehouse_id, namespace.levels, name)
                what = existing.kind.capitalize() if existing else "Table or view"
                raise AlreadyExists(
                    f"{what} with same name already exists: {'.'.join((*namespace.levels, name))}"
                ) from error
            raise NoSuchNamespace(
                f"Namespace does not exist: {'.'.join(namespace.levels)}"
            ) from error
        self._search.put_object(
            object_id, namespace.warehouse_id, kind, namespace.levels, name, metadata_json
        )
        self._changes += 1
        return ObjectRecord(
            object_id,
            namespace.warehouse_id,
            namespace.levels,
            name,
            kind,
            metadata_location,
            metadata_json,
            1,
            location.rstrip("/"),
        )

    def swap(self, swaps: Sequence[PointerSwap]) -> None:
        """The compare-and-swap: every pointer moves, or the transaction fails as a whole.

        Rows are updated in id order, so two multi-table commits lock their rows in the same
        order and cannot deadlock each other (PostgreSQL would abort one of them)."""
        now = utcnow()
        connection = self._session.connection()
        inline = connection.dialect.name == "postgresql"
        for swap in sorted(swaps, key=lambda s: s.object_id):
            values = {
                "object_id": swap.object_id,
                "expected_version": swap.expected_version,
                "new_metadata_location": swap.metadata_location,
                "new_metadata_json": _storable(swap.metadata_json, swap.new_parts),
                "new_location": swap.location.rstrip("/"),
                "now": now,
            }
            if inline and swap.event is not None:
                row = event_row(swap.event, self._source, now)
                inline_values = {**values, **row, "event_type": row["type"]}
                landed = connection.execute(SWAP_WITH_EVENT, inline_values).first() is not None
            else:
                landed = connection.execute(SWAP, values).rowcount == 1
            if not landed:
                raise PointerMoved(
                    "Commit failed: the metadata changed concurrently; refresh and retry"
                )
            self._changes += 1
            if swap.event is not None:
                if inline:
                    self._written += 1
                else:
                    self._events.append(swap.event)
            if swap.new_parts is None or not INDEXED_PARTS.isdisjoint(swap.new_parts):
                self._search.reindex_object(swap.object_id, swap.kind, swap.metadata_json)

    def delete_object(self, record: ObjectRecord) -> bool:
        result = self._session.execute(
            delete(CatalogObject).where(
                CatalogObject.id == record.id, CatalogObject.kind == record.kind
            )
        )
        self._search.remove(record.id)
        deleted = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        self._changes += deleted
        return deleted

    def move_object(self, record: ObjectRecord, namespace: NamespaceRecord, name: str) -> None:
        try:
            result = self._session.execute(
                update(CatalogObject)
                .where(CatalogObject.id == record.id)
                .values(namespace_id=namespace.id, name=name, updated_at=utcnow())
            )
        except IntegrityError as error:
            if _violation(error) == "unique":
                raise AlreadyExists(
                    f"Table or view with same name already exists: "
                    f"{'.'.join((*namespace.levels, name))}"
                ) from error
            raise NoSuchNamespace(
                f"Namespace does not exist: {'.'.join(namespace.levels)}"
            ) from error
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise CommitFailed("The object was changed concurrently; retry the rename")
        self._search.move(record.id, namespace.levels, name)
        self._changes += 1

    def search(
        self, words: Sequence[str], exact: str, warehouse_id: str | None, offset: int, limit: int
    ) -> list[SearchHit]:
        return self._search.search(words, exact, warehouse_id, offset, limit)

    def set_warehouse_approval(self, warehouse_id: str, approval: dict[str, Any] | None) -> None:
        self._session.execute(
            update(Warehouse)
            .where(Warehouse.id == warehouse_id)
            .values(approval=approval, updated_at=utcnow())
        )

    # tokens and audit -------------------------------------------------------------------
    def insert_token(self, record: TokenRecord) -> None:
        self._session.execute(
            insert(ApiToken).values(
                id=record.id,
                name=record.name,
                secret_hash=record.secret_hash,
                permission=record.permission,
                warehouses=list(record.warehouses) if record.warehouses is not None else None,
                namespaces=[list(n) for n in record.namespaces]
                if record.namespaces is not None
                else None,
                created_at=record.created_at,
                expires_at=record.expires_at,
                revoked_at=None,
                generation=record.generation,
            )
        )

    def token(self, token_id: str) -> TokenRecord | None:
        row = self._session.get(ApiToken, token_id)
        return _token(row) if row else None

    def list_tokens(self) -> list[TokenRecord]:
        return [
            _token(row)
            for row in self._session.scalars(select(ApiToken).order_by(ApiToken.created_at))
        ]

    def revoke_token(self, token_id: str) -> bool:
        result = self._session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def set_token_secret(self, token_id: str, secret_hash: str) -> bool:
        """The next generation of the token: a new secret, and access tokens of older ones end."""
        result = self._session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(secret_hash=secret_hash, generation=ApiToken.generation + 1)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def insert_audit(
        self, principal: str, operation: str, target: str, request_id: str, status: int
    ) -> None:
        self._session.connection().execute(
            INSERT_AUDIT, audit_row(principal, operation, target, request_id, status)
        )

    def list_audit(self, limit: int, before_id: int | None) -> list[AuditRecord]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        return [
            AuditRecord(r.id, r.at, r.principal, r.operation, r.target, r.request_id, r.status)
            for r in self._session.scalars(query)
        ]

    # idempotency and metrics ------------------------------------------------------------
    def stored_response(self, key: str, not_before: datetime) -> StoredResponse | None:
        row = self._session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.key == key, IdempotencyRecord.created_at >= not_before
            )
        )
        if row is None:
            return None
        return StoredResponse(row.fingerprint, row.status_code, bytes(row.body), row.created_at)

    def save_response(self, ticket: IdempotencyTicket, body: bytes) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(IdempotencyRecord).values(
                        key=ticket.key,
                        fingerprint=ticket.fingerprint,
                        status_code=ticket.status_code,
                        body=body,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError as error:
            raise IdempotencyKeyTaken(ticket.key) from error

    def forget_responses_before(self, cutoff: datetime) -> int:
        result = self._session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def insert_metrics(
        self,
        warehouse_id: str,
        namespace: Sequence[str],
        table: str,
        report_type: str,
        report: dict[str, Any],
    ) -> None:
        self._session.execute(
            insert(MetricsReport).values(
                warehouse_id=warehouse_id,
                namespace=join_levels(namespace),
                table_name=table,
                report_type=report_type,
                report=report,
                received_at=utcnow(),
            )
        )

    def count_metrics(self, warehouse_id: str) -> int:
        return int(
            self._session.scalar(
                select(func.count()).where(MetricsReport.warehouse_id == warehouse_id)
            )
            or 0
        )

    # maintenance ------------------------------------------------------------------------
    def list_tables(self, warehouse_id: str) -> list[tuple[str, tuple[str, ...], str]]:
        """(object id, namespace, name) of every table in a warehouse, in name order."""
        rows = self._session.execute(
            select(CatalogObject.id, Namespace.name, CatalogObject.name)
            .join(Namespace, Namespace.id == CatalogObject.namespace_id)
            .where(CatalogObject.warehouse_id == warehouse_id, CatalogObject.kind == "table")
            .order_by(Namespace.name, CatalogObject.name)
        )
        return [(row[0], split_levels(row[1]), row[2]) for row in rows]

    def maintenance_policy(
        self, warehouse_id: str, object_id: str | None
    ) -> MaintenancePolicyRecord | None:
        row = self._session.get(MaintenancePolicyRow, object_id or warehouse_id)
        if row is None:
            return None
        return MaintenancePolicyRecord(
            row.warehouse_id, row.object_id, dict(row.settings), _aware(row.updated_at)
        )

    def set_maintenance_policy(
        self, warehouse_id: str, object_id: str | None, settings: dict[str, Any]
    ) -> MaintenancePolicyRecord:
        """Replace the stored settings of a warehouse (object_id None) or of one table."""
        key = object_id or warehouse_id
        now = utcnow()
        self._session.execute(delete(MaintenancePolicyRow).where(MaintenancePolicyRow.id == key))
        self._session.execute(
            insert(MaintenancePolicyRow).values(
                id=key,
                warehouse_id=warehouse_id,
                object_id=object_id,
                settings=settings,
                updated_at=now,
            )
        )
        return MaintenancePolicyRecord(warehouse_id, object_id, dict(settings), now)

    def take_lease(self, key: str, holder: str, now: datetime, expires_at: datetime) -> bool:
        """Take or renew the lease `key`: one conditional UPDATE (free, expired, or already
        ours), else one INSERT that the primary key lets only one process win."""
        result = self._session.execute(
            update(MaintenanceLease)
            .where(
                MaintenanceLease.key == key,
                (MaintenanceLease.expires_at <= now) | (MaintenanceLease.holder == holder),
            )
            .values(holder=holder, acquired_at=now, expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return True
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(MaintenanceLease).values(
                        key=key, holder=holder, acquired_at=now, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True

    def release_lease(self, key: str, holder: str) -> bool:
        result = self._session.execute(
            delete(MaintenanceLease).where(
                MaintenanceLease.key == key, MaintenanceLease.holder == holder
            )
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def lease(self, key: str) -> LeaseRecord | None:
        row = self._session.get(MaintenanceLease, key)
        if row is None:
            return None
        return LeaseRecord(row.key, row.holder, _aware(row.acquired_at), _aware(row.expires_at))

    def insert_maintenance_run(self, run: MaintenanceRunRecord) -> int:
        result = self._session.execute(
            insert(MaintenanceRun)
            .values(
                warehouse=run.warehouse,
                namespace=join_levels(run.namespace),
                table_name=run.table,
                kind=run.kind,
                trigger=run.trigger,
                dry_run=run.dry_run,
                runner=run.runner,
                started_at=run.started_at,
                finished_at=run.finished_at,
                outcome=run.outcome,
                error=run.error,
                files_before=run.files_before,
                files_after=run.files_after,
                bytes_rewritten=run.bytes_rewritten,
                files_deleted=run.files_deleted,
                snapshots_expired=run.snapshots_expired,
                details=run.details,
            )
            .returning(MaintenanceRun.id)
        )
        return int(result.scalar_one())

    def maintenance_run(self, run_id: int) -> MaintenanceRunRecord | None:
        row = self._session.get(MaintenanceRun, run_id)
        return _run(row) if row else None

    def list_maintenance_runs(
        self,
        warehouse: str | None,
        namespace: Sequence[str] | None,
        table: str | None,
        *,
        kind: str | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[MaintenanceRunRecord]:
        """Newest first; `before_id` resumes a listing after the last run of a page."""
        query = select(MaintenanceRun).order_by(MaintenanceRun.id.desc())
        if warehouse is not None:
            query = query.where(MaintenanceRun.warehouse == warehouse)
        if namespace is not None:
            query = query.where(MaintenanceRun.namespace == join_levels(namespace))
        if table is not None:
            query = query.where(MaintenanceRun.table_name == table)
        if kind is not None:
            query = query.where(MaintenanceRun.kind == kind)
        if before_id is not None:
            query = query.where(MaintenanceRun.id < before_id)
        if limit is not None:
            query = query.limit(limit)
        return [_run(row) for row in self._session.scalars(query)]


class SqlCatalogStore:
    """Hands out units of work; reads never take the write lock."""

    def __init__(self, engine: Engine, event_source: str = "/icefloe") -> None:
        """`event_source` is the catalog's public URL: change events name their warehouse
        under it (CloudEvents `source`)."""
        self.engine = engine
        self.event_source = event_source
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(
            engine.execution_options(**WRITE_OPTIONS), expire_on_commit=False
        )
        self._commits = TableCommits(engine, event_source, UNAVAILABLE)

    def commit_target(
        self, warehouse: str, namespace: Sequence[str], name: str
    ) -> CommitTarget | None:
        """A commit's warehouse, namespace and table or view (`TableCommits.target`): one
        statement of its own; None when there is no such warehouse."""
        return self._commits.target(warehouse, namespace, name)

    def swap_alone(self, swap: PointerSwap) -> AbstractContextManager[TableSwap] | None:
        """`swap` in a transaction of its own (`TableCommits.swapping`), with its event and
        whatever audit row the block writes; None when it needs a whole unit of work (it has
        no event, or the search index must be rewritten)."""
        if swap.event is None or swap.new_parts is None:
            return None
        if not INDEXED_PARTS.isdisjoint(swap.new_parts):
            return None
        metadata_json = _storable(swap.metadata_json, swap.new_parts)
        return self._commits.swapping(swap, metadata_json, swap.event)

    @contextmanager
    def read(self) -> Iterator[SqlTransaction]:
        try:
            with self._reader() as session, session.begin():
                yield SqlTransaction(session)
        except UNAVAILABLE as error:
            raise DatabaseUnavailable(f"Database unavailable: {type(error).__name__}") from error

    @contextmanager
    def write(self) -> Iterator[SqlTransaction]:
        """A failure before COMMIT is sent leaves nothing written (503, safe to retry); one
        during COMMIT propagates as is, since only then is the outcome unknown."""
        with self._writer() as session:
            try:
                transaction = session.begin()
                tx = SqlTransaction(session, self.event_source)
                yield tx
                tx.write_events()
                session.flush()
            except UNAVAILABLE as error:
                raise DatabaseUnavailable(
                    f"Database unavailable: {type(error).__name__}; nothing was written"
                ) from error
            transaction.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def _object_at(
    row: Any, id_: str, location: str, warehouse_id: str, namespace: tuple[str, ...], name: str
) -> ObjectRecord:
    """The object record of a row that selected an object's kind, metadata and version (its id
    and location under whatever labels the statement gave them)."""
    return ObjectRecord(
        id=id_,
        warehouse_id=warehouse_id,
        namespace=namespace,
        name=name,
        kind=row.kind,
        metadata_location=row.metadata_location,
        metadata_json=row.metadata_json,
        version=row.version,
        location=location,
    )
