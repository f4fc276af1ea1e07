"""The fast paths' PostgreSQL reads on the event loop itself, through asyncpg.

On PostgreSQL a warm loadTable is one indexed read of ~50 µs in the database, and what it cost
this process was mostly around it: a hop to a worker thread and back (with the GIL handed
between the two threads under load) and psycopg's execute. Measured per read here, 8 at a time:
a thread hop with psycopg's sync execute 130-175 µs of CPU, psycopg's `AsyncConnection` on the
loop 105-115 µs, asyncpg on the loop 40-45 µs (its protocol is compiled, and it keeps each
statement prepared on its connection). asyncpg's own pool cost another ~60 µs per checkout (it
resets the connection on release): the connections are kept here instead, as
`pointers.PreparedReads` keeps its own.

The statements are the same SQLAlchemy Core selects the thread path runs, compiled once for
asyncpg's dialect. Each read is a statement of its own, outside any transaction (asyncpg's
default), so a commit made by any process is seen by the next read: nothing is cached here.

Under load, reads of one statement are gathered (`gathered`): the keys asked for while the
previous statement was out go to the database together as one statement, and each request
gets its own key's row. asyncpg's work per statement (~40 µs here) and the backend's (~50-80
µs, most of it per statement rather than per row) are then shared by every request of the
batch, and a key asked for twice in one batch is read once. A key joins a batch only before it
is sent, so every answer comes from a read that started after its request arrived: a commit
made anywhere before the request is still seen. With one request at a time, a batch is that
one key, sent at once.

A read that cannot be made (no connection can be opened, one broke, the database is away)
raises `StoreUnreadable`, and the caller answers the way it did before (on a worker thread,
with psycopg). After a failed connect, the loop path rests for `REST_SECONDS` rather than try
again on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL

from catalog.store.pointers import Prepared, StoreUnreadable

log = logging.getLogger("icefloe.store")

MAX_CONNECTIONS: Final = 8  # per event loop: as many reads in flight as `fast.THREADS` allowed
# Gathered statements out at once, per statement and event loop: with one, every key that
# arrives while it is out waits for it and goes in the next (the largest batches, the least
# CPU per read); a batch waits at most one round trip more than a read of its own would.
MAX_GATHERED: Final = 1
REST_SECONDS: Final = 5.0
# The statements here are prepared once per connection and run for every request: planned
# once too. Left to choose, PostgreSQL plans a gathered read anew on every run (its generic plan
# guesses 100 keys, costlier than a custom plan for the few that come), ~200 µs of the
# backend's CPU each time against ~10 µs to run it.
SERVER_SETTINGS: Final = {"plan_cache_mode": "force_generic_plan"}
_DIALECT: Final = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class _Connections:
    """One event loop's connections: idle ones (last in, first out), and the requests waiting
    for one when all `MAX_CONNECTIONS` are in use."""

    def __init__(self) -> None:
        self.idle: list[Any] = []
        self.open = 0
        self.waiting: deque[asyncio.Future[Any]] = deque()


class _Gathering:
    """One event loop's keys of one gathered statement waiting to be sent (each with the
    futures of the requests that asked for it), and how many batches of it are out."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[Any, ...], list[asyncio.Future[Any]]] = {}
        self.sending = 0
        self.tasks: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: one per statement
class Gathered:
    """A read of one key, in two statements: `one` binds the key's parts as `names`, and
    `many` binds each part of many keys as an array (`arrays`, in the key's order); each row of
    `many` is a row of `one` followed by its key."""

    one: Prepared
    names: tuple[str, ...]
    many: Prepared
    arrays: tuple[str, ...]


class LoopReads:
    """Runs `Prepared` statements (compiled for asyncpg) on connections kept per event loop."""

    def __init__(self, url: URL) -> None:
        # asyncpg reads a libpq-style URL (host, port, user, password, database, sslmode, …)
        # and sends the parameters it does not know to the server as settings: libpq's
        # `connect_timeout` is not one, and becomes its own `timeout`.
        timeout = url.query.get("connect_timeout")
        self._timeout = float(timeout) if isinstance(timeout, str) and timeout else 60.0
        url = url.set(drivername="postgresql").difference_update_query(["connect_timeout"])
        self._dsn = url.render_as_string(hide_password=False)
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = (
            WeakKeyDictionary()
        )
        self._resting_until = 0.0
        self._gatherings: WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Gathered, _Gathering]
        ] = WeakKeyDictionary()

    @staticmethod
    def prepare(statement: Select[Any]) -> Prepared:
        return Prepared(statement, _DIALECT)

    @staticmethod
    def gathering(
        one: Select[Any], names: tuple[str, ...], many: Select[Any], arrays: tuple[str, ...]
    ) -> Gathered:
        """`one` and `many` (see `Gathered`), compiled for `gathered`."""
        return Gathered(Prepared(one, _DIALECT), names, Prepared(many, _DIALECT), arrays)

    async def gathered(self, statement: Gathered, key: tuple[Any, ...]) -> Any:
        """The row `statement` returns for `key` (an `asyncpg.Record`), or None, read together
        with the other keys asked for on this loop while the previous batch was out."""
        loop = asyncio.get_running_loop()
        gatherings = self._gatherings.get(loop)
        if gatherings is None:
            gatherings = self._gatherings[loop] = {}
        gathering = gatherings.get(statement)
        if gathering is None:
            gathering = gatherings[statement] = _Gathering()
        if not gathering.sending:  # nothing out: this request reads at once, on its own
            gathering.sending = 1
            try:
                return await self.first(statement.one, dict(zip(statement.names, key, strict=True)))
            finally:
                gathering.sending = 0
                if gathering.waiting:  # asked for while this read was out: the next batch
                    self._start_sending(statement, gathering, loop)
        future: asyncio.Future[Any] = loop.create_future()
        futures = gathering.waiting.get(key)
        if futures is None:
            gathering.waiting[key] = [future]
        else:
            futures.append(future)  # the same key in the same batch: read once
        if gathering.sending < MAX_GATHERED:
            self._start_sending(statement, gathering, loop)
        return await future

    def _start_sending(
        self, statement: Gathered, gathering: _Gathering, loop: asyncio.AbstractEventLoop
    ) -> None:
        gathering.sending += 1
        task = loop.create_task(self._send(statement, gathering))
        gathering.tasks.add(task)
        task.add_done_callback(gathering.tasks.discard)

    async def _read(
        self, statement: Gathered, keys: Collection[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], Any]:
        """The rows of `keys` (those that have one), by key."""
        values = {name: [key[i] for key in keys] for i, name in enumerate(statement.arrays)}
        width = len(statement.arrays)
        return {tuple(row[-width:]): row for row in await self.rows(statement.many, values)}

    async def _send(self, statement: Gathered, gathering: _Gathering) -> None:
        """Send what waits, as one statement, until nothing does. Each request has a future
        of its own, so one that is cancelled leaves the others of its batch alone."""
        batch: dict[tuple[Any, ...], list[asyncio.Future[Any]]] = {}
        try:
            while gathering.waiting:
                batch, gathering.waiting = gathering.waiting, {}
                try:
                    found = await self._read(statement, batch)
                except StoreUnreadable as error:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(StoreUnreadable(*error.args))
                    continue
                for key, futures in batch.items():
                    row = found.get(key)
                    for future in futures:
                        if not future.done():
                            future.set_result(row)
                batch = {}
        finally:
            gathering.sending -= 1
            for futures in (*batch.values(), *gathering.waiting.values()):
                for future in futures:  # only when this task itself was cancelled (shutdown)
                    if not future.done():
                        future.set_exception(StoreUnreadable("cancelled"))

    async def first(self, prepared: Prepared, values: Mapping[str, Any]) -> Any:
        """The statement's first row (an `asyncpg.Record`), or None."""
        rows = await self._run(prepared, values, one=True)
        return rows[0] if rows else None

    async def rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[Any]:
        """The statement's rows (`asyncpg.Record`s)."""
        return await self._run(prepared, values, one=False)

    async def _run(self, prepared: Prepared, values: Mapping[str, Any], one: bool) -> list[Any]:
        connections = self._connections()
        connection = await self._take(connections)
        try:
            parameters = prepared.parameters(values)
            if one:
                row = await connection.fetchrow(prepared.sql, *parameters)
                rows = [] if row is None else [row]
            else:
                rows = await connection.fetch(prepared.sql, *parameters)
        except BaseException as error:
            connections.open -= 1
            connection.terminate()  # in an unknown state: a new one replaces it
            self._wake(connections, None)
            if isinstance(error, Exception):
                raise StoreUnreadable(type(error).__name__) from error
            raise
        self._give_back(connections, connection)
        return rows

    def _connections(self) -> _Connections:
        loop = asyncio.get_running_loop()
        connections = self._loops.get(loop)
        if connections is None:
            connections = self._loops[loop] = _Connections()
        return connections

    async def _take(self, connections: _Connections) -> Any:
        while True:
            if connections.idle:
                return connections.idle.pop()
            if connections.open < MAX_CONNECTIONS:
                return await self._open(connections)
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            connections.waiting.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._give_back(connections, waiter.result())
                raise
            if connection is not None:
                return connection
            # None: a connection broke and its slot is free; open one (or take an idle one)

    async def _open(self, connections: _Connections) -> Any:
        if time.monotonic() < self._resting_until:
            raise StoreUnreadable("resting after a failed connect")
        connections.open += 1
        try:
            return await asyncpg.connect(
                self._dsn, timeout=self._timeout, server_settings=SERVER_SETTINGS
            )
        except Exception as error:
            connections.open -= 1
            self._wake(connections, None)
            self._resting_until = time.monotonic() + REST_SECONDS
            log.warning("event=loop_reads_unavailable error=%s", type(error).__name__)
            raise StoreUnreadable(type(error).__name__) from error

    def _give_back(self, connections: _Connections, connection: Any) -> None:
        if not self._wake(connections, connection):
            connections.idle.append(connection)

    @staticmethod
    def _wake(connections: _Connections, connection: Any) -> bool:
        """Hand `connection` (or, when None, a free slot) to the first request still waiting."""
        while connections.waiting:
            waiter = connections.waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    def close(self) -> None:
        """Close the idle connections of every loop (the app's shutdown)."""
        for connections in list(self._loops.values()):
            idle, connections.idle = connections.idle, []
            connections.open -= len(idle)
            for connection in idle:
                with contextlib.suppress(Exception):
                    connection.terminate()
