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
from collections.abc import Mapping
from typing import Any, Final
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL

from catalog.store.pointers import Prepared, StoreUnreadable

log = logging.getLogger("icefloe.store")

MAX_CONNECTIONS: Final = 8  # per event loop: as many reads in flight as `fast.THREADS` allowed
REST_SECONDS: Final = 5.0
_DIALECT: Final = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class _Connections:
    """One event loop's connections: idle ones (last in, first out), and the requests waiting
    for one when all `MAX_CONNECTIONS` are in use."""

    def __init__(self) -> None:
        self.idle: list[Any] = []
        self.open = 0
        self.waiting: deque[asyncio.Future[Any]] = deque()


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

    @staticmethod
    def prepare(statement: Select[Any]) -> Prepared:
        return Prepared(statement, _DIALECT)

    async def first(self, prepared: Prepared, values: Mapping[str, Any]) -> Any:
        """The statement's first row (an `asyncpg.Record`), or None."""
        connections = self._connections()
        connection = await self._take(connections)
        try:
            row = await connection.fetchrow(prepared.sql, *prepared.parameters(values))
        except BaseException as error:
            connections.open -= 1
            connection.terminate()  # in an unknown state: a new one replaces it
            self._wake(connections, None)
            if isinstance(error, Exception):
                raise StoreUnreadable(type(error).__name__) from error
            raise
        self._give_back(connections, connection)
        return row

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
            return await asyncpg.connect(self._dsn, timeout=self._timeout)
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
