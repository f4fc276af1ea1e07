"""The fast paths' reads on SQLite, remembered until the database changes.

On SQLite loadTable's pointer read (an indexed read over three tables, ~13 µs) was the largest
part of what a fast loadTable costs the event loop. `PRAGMA data_version` (~4 µs) tells a
connection whether any other connection, in this process or another, has committed since its
previous look: while none has, every answer read before is still the answer. So answers are
kept with the connection that read them and all forgotten at the first change it sees. A commit
by any process is still seen by the next load; a catalog that is being written to reads as
before, plus the pragma.

One connection, for the thread that finds it free (on SQLite the fast paths answer on the event
loop): a reader that finds it taken, or a database that fails, gets `MISS` and reads as before.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


class Miss:
    """Not answered here: read the way you would without this."""


MISS: Final = Miss()
DATA_VERSION: Final = "PRAGMA data_version"


class RememberedReads:
    """Answers by key, valid while this connection's `data_version` stays what it was."""

    MAX_ENTRIES = 16_384  # first in, first out: a few MB of pointers at most

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._errors: tuple[type[BaseException], ...] = (engine.dialect.loaded_dbapi.Error,)
        self._cursor: Any = None
        self._connection: Any = None
        self._version: object = None
        self._opened = 0  # connections opened: a version is comparable only within one
        self._answers: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def version(self) -> tuple[int, int] | Miss:
        """Where the database stands now: a value equal to an earlier one exactly while no
        connection has committed in between (MISS when that cannot be told). What a caller
        read after taking a value is at least that current, so it may keep it under that
        value (the front door's `answers.AnswerCache` does)."""
        if not self._lock.acquire(blocking=False):
            return MISS
        try:
            cursor = self._cursor if self._cursor is not None else self._open()
            version: int = cursor.execute(DATA_VERSION).fetchone()[0]
            if version != self._version:
                self._answers.clear()
                self._version = version
            return (self._opened, version)
        except self._errors:
            self._close()
            return MISS
        finally:
            self._lock.release()

    def get(
        self,
        key: Hashable,
        sql: str,
        parameters: Sequence[Any],
        build: Callable[[Sequence[Any] | None], T],
    ) -> T | Miss:
        """`build` of the first row `sql` reads with `parameters` (None when there is none), as
        read now or, when nothing has been committed since, as read before."""
        if not self._lock.acquire(blocking=False):
            return MISS
        try:
            cursor = self._cursor if self._cursor is not None else self._open()
            version = cursor.execute(DATA_VERSION).fetchall()[0][0]
            if version != self._version:
                self._answers.clear()
                self._version = version
            else:
                found = self._answers.get(key, MISS)
                if found is not MISS:
                    answer: T = found
                    return answer
            # Read after the version: a commit in between makes the answer newer than the
            # version it is kept under, never older, and the next look forgets it anyway.
            rows = cursor.execute(sql, parameters).fetchall()
            answer = build(rows[0] if rows else None)
            if len(self._answers) >= self.MAX_ENTRIES:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = answer
            return answer
        except self._errors:
            self._close()
            return MISS
        finally:
            self._lock.release()

    def _open(self) -> Any:
        proxied = self._engine.raw_connection()
        proxied.detach()  # ours until closed; the pool opens another for its slot
        self._opened += 1
        self._connection = proxied.dbapi_connection
        self._cursor = self._connection.cursor()
        return self._cursor

    def _close(self) -> None:
        connection, self._connection, self._cursor = self._connection, None, None
        self._answers.clear()
        self._version = None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Close the connection (the app's shutdown)."""
        with self._lock:
            self._close()
