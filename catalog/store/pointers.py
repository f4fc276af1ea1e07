"""loadTable's reads as prebuilt SQLAlchemy Core statements, for the fast path
(`catalog.api.tables_fast`).

No ORM session and no statement built per call: the two selects below are compiled once, for
the engine's dialect, and run on a DBAPI connection kept by each thread that reads (a seventh
of the CPU of a Core `Connection.execute` with its transaction events, measured on SQLite:
25 µs against 175 µs; checking a connection out of the pool and back in cost as much again as
the read). Each such connection is in autocommit mode, so a read is one statement in a
transaction of its own, with no BEGIN or ROLLBACK (on PostgreSQL: one round trip instead of
three), and a commit made by any process is seen by the next read. On SQLite a pointer read is
kept until any connection commits (`remembered.RememberedReads`): still seen by the next read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, Dialect, Engine, Select, Table, Text, bindparam, func, select, true
from sqlalchemy.exc import SQLAlchemyError

from catalog.store.models import CatalogObject, Namespace, Warehouse
from catalog.store.remembered import Miss, RememberedReads
from catalog.store.repository import join_levels

if TYPE_CHECKING:
    from catalog.store.loop_reads import LoopReads

_warehouses: Table = Warehouse.__table__  # type: ignore[assignment]
_namespaces: Table = Namespace.__table__  # type: ignore[assignment]
_objects: Table = CatalogObject.__table__  # type: ignore[assignment]


def _pointer_lookup(warehouse: Any, namespace: Any, name: Any) -> Select[Any]:
    """The pointer of the table these names name: three unique-index probes, warehouses
    (name), namespaces (warehouse_id, name), objects (namespace_id, name). One builder for the
    single read and the gathered one, so their rows stay alike (`_pointer_of` reads them by
    position)."""
    return (
        select(
            _objects.c.id.label("object_id"),
            _objects.c.kind,
            _objects.c.version,
            _objects.c.metadata_location,
            _objects.c.location,
            _warehouses.c.id.label("warehouse_id"),
        )
        .select_from(_warehouses)
        .join(_namespaces, _namespaces.c.warehouse_id == _warehouses.c.id)
        .join(_objects, _objects.c.namespace_id == _namespaces.c.id)
        .where(
            _warehouses.c.name == warehouse,
            _namespaces.c.name == namespace,
            _objects.c.name == name,
        )
    )


POINTER = _pointer_lookup(bindparam("warehouse"), bindparam("namespace"), bindparam("name"))
# PostgreSQL, on the event loop: the pointers of many tables in one statement
# (`loop_reads.gathered`), each row `POINTER`'s followed by the key it answers. The lookup is a
# lateral subquery (its LIMIT keeps the planner from flattening it into a join that could scan
# `catalog_objects` whole): for each key, the same three unique-index probes as `POINTER`.
_WANTED = (
    func.unnest(
        bindparam("warehouses", type_=ARRAY(Text)),
        bindparam("namespaces", type_=ARRAY(Text)),
        bindparam("names", type_=ARRAY(Text)),
    )
    .table_valued("warehouse", "namespace", "name")
    .render_derived(name="wanted", with_types=False)
)
_FOUND = (
    _pointer_lookup(_WANTED.c.warehouse, _WANTED.c.namespace, _WANTED.c.name)
    .limit(1)
    .lateral("found")
)
POINTERS = select(*_FOUND.c, _WANTED.c.warehouse, _WANTED.c.namespace, _WANTED.c.name).select_from(
    _WANTED.join(_FOUND, true())
)

# By primary key, at the version just read: a commit in between finds no row (and the caller
# falls back to the full path) instead of pairing one version's pointer with another's text.
METADATA = select(_objects.c.metadata_json).where(
    _objects.c.id == bindparam("id"), _objects.c.version == bindparam("version")
)


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where a table or view's current metadata is, without the metadata itself."""

    object_id: str
    kind: str
    version: int
    metadata_location: str
    location: str
    warehouse_id: str


class StoreUnreadable(Exception):
    """The database did not answer; the caller leaves the request to the full path."""


class Prepared:
    """A statement compiled once for a dialect, with its parameters in the driver's form."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.names = frozenset(compiled.binds)
        # Values the statement fixes itself (SQLite's `OFFSET 0` after a bound LIMIT).
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}

    def parameters(self, values: Mapping[str, Any]) -> Any:
        if self._fixed:
            values = {**self._fixed, **values}
        if self._order is None:
            return dict(values)
        return tuple(values[name] for name in self._order)


class PreparedReads:
    """Runs `Prepared` statements on DBAPI connections of their own, kept between reads.

    The connections are taken from the engine's pool and detached from it (the pool stays
    whole for the rest of the catalog), in autocommit mode, and kept in a small stack of idle
    ones: a read takes one (or opens one when none is idle) and puts it back, and no more than
    `MAX_IDLE` wait there. One that fails is closed: a database that restarted costs one
    request the fast path (it goes the full way, which retries on a fresh pooled connection)."""

    MAX_IDLE = 8  # `fast.THREADS` plus the event loop: a connection each, mostly

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._driver_errors: tuple[type[BaseException], ...] = (
            SQLAlchemyError,
            engine.dialect.loaded_dbapi.Error,
        )
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def prepare(self, statement: Select[Any]) -> Prepared:
        return Prepared(statement, self._engine.dialect)

    def _first(self, prepared: Prepared, values: Mapping[str, Any]) -> Any:
        rows = self._rows(prepared, values, one=True)
        return rows[0] if rows else None

    def _rows(self, prepared: Prepared, values: Mapping[str, Any], one: bool = False) -> list[Any]:
        connection = None
        try:
            connection = self._take()
            cursor = connection.cursor()
            cursor.execute(prepared.sql, prepared.parameters(values))
            if one:
                row = cursor.fetchone()
                rows = [] if row is None else [row]
            else:
                rows = list(cursor.fetchall())
            cursor.close()
        except self._driver_errors as error:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            raise StoreUnreadable(type(error).__name__) from error
        self._give_back(connection)
        return rows

    def _take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        proxied = self._engine.raw_connection()
        proxied.detach()  # ours until closed; the pool opens another for its slot
        connection: Any = proxied.dbapi_connection
        if not self._sqlite:  # SQLite's already is: `isolation_level` None
            connection.rollback()  # whatever the checkout's ping began
            connection.autocommit = True
        return connection

    def _give_back(self, connection: Any) -> None:
        with self._lock:
            if len(self._idle) < self.MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close the idle connections (the app's shutdown)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.close()


class TablePointers(PreparedReads):
    """The pointer read on this thread, or (`on_loop`, PostgreSQL) on the event loop: the same
    `POINTER` select, compiled once for each driver."""

    def __init__(self, engine: Engine, on_loop: LoopReads | None = None) -> None:
        super().__init__(engine)
        self._pointer = self.prepare(POINTER)
        self._metadata = self.prepare(METADATA)
        self.on_loop = on_loop
        self._pointers_on_loop = (
            on_loop.gathering(
                POINTER,
                ("warehouse", "namespace", "name"),
                POINTERS,
                ("warehouses", "namespaces", "names"),
            )
            if on_loop is not None
            else None
        )
        # On SQLite, pointers are kept until the database changes (`remembered`).
        self._remembered = RememberedReads(engine) if self._sqlite else None

    @property
    def remembered(self) -> RememberedReads | None:
        """On SQLite, the connection that tells whether the database has changed."""
        return self._remembered

    def pointer(self, warehouse: str, namespace: Sequence[str], name: str) -> Pointer | None:
        values = {"warehouse": warehouse, "namespace": join_levels(namespace), "name": name}
        if self._remembered is not None:
            key = (warehouse, values["namespace"], name)
            parameters = self._pointer.parameters(values)
            found = self._remembered.get(key, self._pointer.sql, parameters, _pointer_of)
            if not isinstance(found, Miss):
                return found
        return _pointer_of(self._first(self._pointer, values))

    async def pointer_on_loop(
        self, warehouse: str, namespace: Sequence[str], name: str
    ) -> Pointer | None:
        """`pointer`, read without leaving the event loop (only with `on_loop`), in one
        statement with the other pointers asked for meanwhile."""
        assert self.on_loop is not None and self._pointers_on_loop is not None
        key = (warehouse, join_levels(namespace), name)
        return _pointer_of(await self.on_loop.gathered(self._pointers_on_loop, key))

    def close(self) -> None:
        super().close()
        if self._remembered is not None:
            self._remembered.close()
        if self.on_loop is not None:
            self.on_loop.close()

    def metadata_json(self, pointer: Pointer) -> str | None:
        """The metadata text at `pointer`'s version, or None once a commit has moved it."""
        row = self._first(self._metadata, {"id": pointer.object_id, "version": pointer.version})
        return None if row is None else str(row[0])


def _pointer_of(row: Sequence[Any] | None) -> Pointer | None:
    return None if row is None else Pointer(row[0], row[1], row[2], row[3], row[4], row[5])
