"""A commit to one table, its two transactions on a pooled DBAPI connection, statements compiled
once.

An append reads its target (the warehouse, the namespace, the table: one statement) and then
swaps the pointer with its audit and outbox rows. Through the ORM `Session` those two short
transactions cost ~1.3 ms of CPU per append (SQLite, 10 snapshots), most of it SQLAlchemy's
own (the session's begin and commit, an execution context and a cache key per statement);
this way ~0.7 ms, a third of it the COMMIT's fsync. The same statements are compiled once for
the engine's dialect and run on a connection checked out of the engine's own pool (its size,
timeout and pre-ping apply as for any other request), with the columns' own bind and result
processors, so the values written and the records read are the ORM's. The transaction is
the ORM's: `BEGIN IMMEDIATE` on SQLite (`store.database`), one transaction in the engine's
isolation on PostgreSQL, with the event row in the swap's own statement there. Driver errors
come out wrapped as SQLAlchemy wraps them (so callers catch the same classes), and a
connection that failed is dropped, not pooled again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Dialect,
    Engine,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from catalog.events.types import ChangeEvent, envelope
from catalog.exceptions import DatabaseUnavailable, PointerMoved
from catalog.store.models import (
    AUDIT_REQUEST_ID_LENGTH,
    AuditEvent,
    CatalogObject,
    ChangeEventRow,
    Namespace,
    Warehouse,
    utcnow,
)
from catalog.store.records import (
    CommitTarget,
    NamespaceRecord,
    ObjectRecord,
    PointerSwap,
    WarehouseRecord,
)

SEPARATOR = "\x1f"

_warehouses = cast(Table, Warehouse.__table__)
_namespaces = cast(Table, Namespace.__table__)
_objects = cast(Table, CatalogObject.__table__)
_events = cast(Table, ChangeEventRow.__table__)
_audit_events = cast(Table, AuditEvent.__table__)

# The compare-and-swap: its row count decides the commit.
SWAP = (
    update(_objects)
    .where(
        _objects.c.id == bindparam("object_id"),
        _objects.c.version == bindparam("expected_version"),
    )
    .values(
        metadata_location=bindparam("new_metadata_location"),
        metadata_json=bindparam("new_metadata_json"),
        location=bindparam("new_location"),
        version=_objects.c.version + 1,
        updated_at=bindparam("now"),
    )
)
# On PostgreSQL, the swap and its event row in one statement (a data-modifying CTE): the event
# is inserted only if the pointer moved, and the commit pays no round trip for it. It returns a
# row if and only if the pointer moved.
_swapped = SWAP.returning(_objects.c.id).cte("swapped")
SWAP_WITH_EVENT = (
    insert(_events)
    .from_select(
        ["event_id", "type", "stream", "recorded_at", "body"],
        select(
            bindparam("event_id", type_=String()),
            bindparam("event_type", type_=String()),
            _swapped.c.id,
            bindparam("recorded_at", type_=DateTime(timezone=True)),
            bindparam("body", type_=Text()),
        ),
    )
    .returning(_events.c.id)
)
# `inline`: nothing to read back (no RETURNING of the new row's id on PostgreSQL).
INSERT_AUDIT = insert(_audit_events).inline()
AUDIT_COLUMNS = ("at", "principal", "operation", "target", "request_id", "status")
# Every change's outbox row.
INSERT_EVENT = insert(_events).inline()
EVENT_COLUMNS = ("event_id", "type", "stream", "recorded_at", "body")

WAREHOUSE_COLUMNS = (
    _warehouses.c.id,
    _warehouses.c.name,
    _warehouses.c.location,
    _warehouses.c.storage,
    _warehouses.c.properties,
    _warehouses.c.created_at,
    _warehouses.c.approval,
)
# A commit's three reads as one statement (a commit to one table: a table append). Outer joins,
# so a missing namespace or table reads as NULLs, and a missing warehouse as no row.
COMMIT_TARGET = (
    select(
        *WAREHOUSE_COLUMNS,
        _namespaces.c.id.label("namespace_id"),
        _namespaces.c.properties.label("namespace_properties"),
        _objects.c.id.label("object_id"),
        _objects.c.kind,
        _objects.c.metadata_location,
        _objects.c.metadata_json,
        _objects.c.version,
        _objects.c.location.label("object_location"),
    )
    .select_from(_warehouses)
    .outerjoin(
        _namespaces,
        and_(
            _namespaces.c.warehouse_id == _warehouses.c.id,
            _namespaces.c.name == bindparam("namespace"),
        ),
    )
    .outerjoin(
        _objects,
        and_(_objects.c.namespace_id == _namespaces.c.id, _objects.c.name == bindparam("name")),
    )
    .where(_warehouses.c.name == bindparam("warehouse"))
)


def event_row(event: ChangeEvent, source: str, now: datetime) -> dict[str, Any]:
    """The outbox row of `event` (`source`: the catalog's public URL, CloudEvents `source`)."""
    return {
        "event_id": event.id,
        "type": event.type.value,
        "stream": event.stream,
        "recorded_at": now,
        "body": envelope(event, source, now).model_dump_json(),
    }


def audit_row(
    principal: str, operation: str, target: str, request_id: str, status: int
) -> dict[str, Any]:
    """The request id is the client's `X-Request-Id` when it sent one: cut to the column's
    width, which PostgreSQL enforces (a longer one failed the insert, and with it the commit
    whose transaction the record is written in)."""
    return {
        "at": utcnow(),
        "principal": principal,
        "operation": operation,
        "target": target,
        "request_id": request_id[:AUDIT_REQUEST_ID_LENGTH],
        "status": status,
    }


def commit_target_of(row: Any, namespace: Sequence[str], name: str) -> CommitTarget:
    """The records of a `COMMIT_TARGET` row (by name or by position, in its column order)."""
    found = WarehouseRecord(
        id=row[0],
        name=row[1],
        location=row[2],
        storage=dict(row[3]),
        properties=dict(row[4]),
        created_at=row[5],
        approval=dict(row[6]) if row[6] else None,
    )
    if row[7] is None:
        return CommitTarget(found, None, None)
    levels = tuple(namespace)
    namespace_record = NamespaceRecord(
        id=row[7], warehouse_id=found.id, levels=levels, properties=row[8]
    )
    if row[9] is None:
        return CommitTarget(found, namespace_record, None)
    current = ObjectRecord(
        id=row[9],
        warehouse_id=found.id,
        namespace=levels,
        name=name,
        kind=row[10],
        metadata_location=row[11],
        metadata_json=row[12],
        version=row[13],
        location=row[14],
    )
    return CommitTarget(found, namespace_record, current)


Processor = Callable[[Any], Any]


class Statement:
    """A statement compiled once for a dialect, with its parameters in the driver's form
    (through the columns' bind processors) and its rows through their result processors."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, columns: Sequence[str] | None = None
    ) -> None:
        keys = list(columns) if columns else None
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
        self.sql = str(compiled)
        names = compiled.positiontup if compiled.positional else list(compiled.params)
        self._positional = compiled.positional
        # Values the statement fixes itself (the 1 of `version + 1`).
        binds = [compiled.binds[name] for name in names or ()]
        self._fixed = {
            name: bind.value
            for name, bind in zip(names or (), binds, strict=True)
            if not bind.required and bind.value is not None
        }
        # (name, bind processor or None) of each parameter, in the driver's order.
        self._binds: tuple[tuple[str, Processor | None], ...] = tuple(
            (name, bind.type.dialect_impl(dialect).bind_processor(dialect))
            for name, bind in zip(names or (), binds, strict=True)
        )
        selected = statement.selected_columns if isinstance(statement, Select) else ()
        self._results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        ]

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """`values` (by bind name; others are ignored) as the driver takes them."""
        if self._fixed:
            values = {**self._fixed, **values}
        processed = [
            (name, values[name] if process is None else _processed(process, values[name]))
            for name, process in self._binds
        ]
        if self._positional:
            return tuple(value for _, value in processed)
        return dict(processed)

    def row(self, raw: Sequence[Any]) -> list[Any]:
        return [
            value if process is None or value is None else process(value)
            for process, value in zip(self._results, raw, strict=True)
        ]


def _processed(process: Processor, value: Any) -> Any:
    return None if value is None else process(value)


class TableCommits:
    """A commit to one table: `target` reads it, `swapping` holds the compare-and-swap's
    transaction. `unavailable` are the errors that mean the database cannot be reached
    (`repository.UNAVAILABLE`)."""

    def __init__(
        self,
        engine: Engine,
        event_source: str,
        unavailable: tuple[type[BaseException], ...],
    ) -> None:
        dialect = engine.dialect
        self._engine = engine
        self._dialect = dialect
        self._source = event_source
        self._unavailable = unavailable
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
        # SQLite's connections are in autocommit mode (`store.database`): the write lock is
        # taken up front, as `WRITE_OPTIONS` takes it for a unit of work.
        self._begin = "BEGIN IMMEDIATE" if dialect.name == "sqlite" else None
        self._target = Statement(COMMIT_TARGET, dialect)
        self._swap = Statement(SWAP, dialect)
        self._swap_with_event = (
            Statement(SWAP_WITH_EVENT, dialect) if dialect.name == "postgresql" else None
        )
        self._audit = Statement(INSERT_AUDIT, dialect, AUDIT_COLUMNS)
        self._event = Statement(INSERT_EVENT, dialect, EVENT_COLUMNS)

    def target(self, warehouse: str, namespace: Sequence[str], name: str) -> CommitTarget | None:
        """`SqlTransaction.commit_target` as one statement of its own (a read needs no more:
        a single statement sees one snapshot)."""
        values = {"warehouse": warehouse, "namespace": SEPARATOR.join(namespace), "name": name}
        try:
            with self._connection() as connection:
                row = self._first(connection, self._target, values)
        except self._unavailable as error:
            raise DatabaseUnavailable(f"Database unavailable: {type(error).__name__}") from error
        if row is None:
            return None
        return commit_target_of(self._target.row(row), namespace, name)

    @contextmanager
    def swapping(
        self, swap: PointerSwap, metadata_json: str, event: ChangeEvent
    ) -> Iterator[TableSwap]:
        """The compare-and-swap of `swap` (its text already checked: `metadata_json`) in a
        transaction of its own, with its event's outbox row and whatever audit row the block
        writes. PointerMoved when the pointer moved (nothing written); a failure before COMMIT
        is sent leaves nothing written (DatabaseUnavailable, safe to retry); one during COMMIT
        propagates as the SQLAlchemy error it is, since only then is the outcome unknown."""
        now = utcnow()
        values = {
            "object_id": swap.object_id,
            "expected_version": swap.expected_version,
            "new_metadata_location": swap.metadata_location,
            "new_metadata_json": metadata_json,
            "new_location": swap.location.rstrip("/"),
            "now": now,
        }
        row = event_row(event, self._source, now)
        with self._connection() as connection:
            try:
                if self._begin is not None:
                    self._run(connection, self._begin, ())
                if self._swap_with_event is not None:
                    inline = {**values, **row, "event_type": row["type"]}
                    landed = self._first(connection, self._swap_with_event, inline) is not None
                else:
                    landed = self._execute(connection, self._swap, values) == 1
                if not landed:
                    raise PointerMoved(
                        "Commit failed: the metadata changed concurrently; refresh and retry"
                    )
                yield TableSwap(
                    self._audit,
                    lambda statement, values: self._execute(connection, statement, values),
                )
                if self._swap_with_event is None:
                    self._execute(connection, self._event, row)
            except self._unavailable as error:
                raise DatabaseUnavailable(
                    f"Database unavailable: {type(error).__name__}; nothing was written"
                ) from error
            self._run(connection, None, ())

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A DBAPI connection from the engine's pool: back to the pool when the block ends
        (rolled back by the pool if still in a transaction), dropped if it failed."""
        try:
            proxied = self._engine.raw_connection()
        except self._dbapi_error as error:
            raise self._wrapped(error, None, ()) from error
        try:
            yield proxied.dbapi_connection
        except BaseException as error:
            failed = error if isinstance(error, DBAPIError) else error.__cause__
            if isinstance(failed, DBAPIError):
                proxied.invalidate(failed.orig)
                raise
            proxied.close()  # the pool rolls back what the block began
            raise
        proxied.close()

    def _first(self, connection: Any, statement: Statement, values: Mapping[str, Any]) -> Any:
        parameters = statement.parameters(values)
        try:
            cursor = connection.cursor()
            cursor.execute(statement.sql, parameters)
            row = cursor.fetchone()
            cursor.close()
        except self._dbapi_error as error:
            raise self._wrapped(error, statement.sql, parameters) from error
        return row

    def _execute(self, connection: Any, statement: Statement, values: Mapping[str, Any]) -> int:
        parameters = statement.parameters(values)
        try:
            cursor = connection.cursor()
            cursor.execute(statement.sql, parameters)
            count: int = cursor.rowcount
            cursor.close()
        except self._dbapi_error as error:
            raise self._wrapped(error, statement.sql, parameters) from error
        return count

    def _run(self, connection: Any, sql: str | None, parameters: Any) -> None:
        """`sql` on `connection`, or (None) its COMMIT."""
        try:
            if sql is None:
                connection.commit()
            else:
                cursor = connection.cursor()
                cursor.execute(sql, parameters)
                cursor.close()
        except self._dbapi_error as error:
            raise self._wrapped(error, sql or "COMMIT", parameters) from error

    def _wrapped(self, error: BaseException, sql: str | None, parameters: Any) -> DBAPIError:
        """`error` as SQLAlchemy raises it from a `Connection` (OperationalError, ...)."""
        wrapped = DBAPIError.instance(
            sql, parameters, error, self._dbapi_error, dialect=self._dialect
        )
        assert isinstance(wrapped, DBAPIError)  # `error` is the driver's
        return wrapped


class TableSwap:
    """The swap's transaction, as the block of `TableCommits.swapping` sees it."""

    def __init__(
        self, audit: Statement, execute: Callable[[Statement, Mapping[str, Any]], int]
    ) -> None:
        self._audit = audit
        self._execute = execute

    def insert_audit(
        self, principal: str, operation: str, target: str, request_id: str, status: int
    ) -> None:
        self._execute(self._audit, audit_row(principal, operation, target, request_id, status))
