"""What the pre-router fast paths share (`tables_fast`, `listing_fast`, `config_fast`).

Each answers the common form of a few read requests before FastAPI's router, with the pieces
the routes use (the same `Authenticator`, the same decision `security.refusal` over `POLICY`,
the same service functions for bodies), and leaves everything else to FastAPI unchanged: a
request it does not fully understand, an error of any kind, a caller refused or unknown. Such
a request is then answered exactly as if no fast path existed. They sit inside
`RequestContextMiddleware`, so the request id, the URL and body checks and the access log line
(which ends with `via=fast`) are the ones every request gets.

Where the work runs: on SQLite a read is a local indexed lookup of tens of microseconds,
cheaper than the worker-thread hop that would carry it, so a fast path answers on the event
loop; what may take longer (a credential vendor's network call, a long listing) it asks to
run on a worker thread instead (`ON_A_THREAD`). On PostgreSQL every read is a round trip whose
time this process does not control, so the whole answer runs on a worker thread: one hop per
request, and a slow database never stalls the loop's other requests.

The hop is to a small pool of the fast paths' own (`THREADS`), through the loop's executor
interface: Starlette's `run_in_threadpool` (anyio's capacity limiter and cancel scopes) cost
70-90 µs of CPU per hop here, this 45. The pool's size also bounds the database connections the
fast paths keep (`pointers.PreparedReads`).
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar
from urllib.parse import parse_qsl

from sqlalchemy.exc import SQLAlchemyError
from starlette.types import Scope

from catalog.api.security import Authenticator
from catalog.auth.principal import Principal
from catalog.exceptions import CatalogError
from catalog.store.records import WarehouseRecord

if TYPE_CHECKING:
    from catalog.api.answers import AnswerCache
    from catalog.api.commit_fast import CommitFastPath

JSON: Final = (b"content-type", b"application/json")


@dataclass(slots=True)  # not frozen: made on every request, and a frozen init costs 4x
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    # Until when (seconds since the epoch) the same request may be given this very answer
    # while the database stays as it is: a vended credential's reuse deadline.
    expires: float = math.inf

    @classmethod
    def json(cls, body: bytes, *headers: tuple[bytes, bytes]) -> Answer:
        """A 200 with a JSON body, headers as `responses.json_bytes` sends them."""
        length = (b"content-length", str(len(body)).encode("latin-1"))
        return cls(200, [*headers, length, JSON], body)


THREADS: Final = ThreadPoolExecutor(max_workers=8, thread_name_prefix="icefloe-fast")
T = TypeVar("T")


async def on_a_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on one of `THREADS`, in this task's context (a trace's span)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(THREADS, context.run, function, *args)


class OnAThread:
    """`answer` could not finish without work that may block: ask again on a worker thread."""


ON_A_THREAD: Final = OnAThread()
Outcome = Answer | OnAThread | None
R = TypeVar("R")


class FastPath(ABC, Generic[R]):
    """One fast answerer: `match` picks the requests it may answer, `answer` answers them (or
    returns None for FastAPI to). `FastPaths` calls it from inside the request context."""

    def __init__(self, in_thread: bool) -> None:
        self.in_thread = in_thread

    @abstractmethod
    def match(self, scope: Scope) -> R | None:
        """The request, if it has a form this path answers; cheap, and reads nothing."""

    @abstractmethod
    def operation(self, request: R) -> str:
        """The spec's operationId of `request`: what metrics and the access log call it."""

    @abstractmethod
    def answer(self, request: R, may_block: bool) -> Outcome:
        """The response, None for the full path to give it, or ON_A_THREAD when answering
        needs work that may block and `may_block` is False."""

    async def answer_on_loop(self, request: R) -> Outcome:
        """Where reads are round trips (`in_thread`): the answer without leaving the event
        loop, where it can be had with asynchronous reads only; ON_A_THREAD otherwise."""
        return ON_A_THREAD

    async def respond(self, scope: Scope, request: R) -> Answer | None:
        """The answer, where it should run (the loop, or one hop to `THREADS`); when there is
        one, the scope's state says so for the access line and metrics."""
        if self.in_thread:
            outcome = await self.answer_on_loop(request)
            if isinstance(outcome, OnAThread):
                outcome = await on_a_thread(self.answer, request, True)
        else:
            outcome = self.answer(request, False)
            if isinstance(outcome, OnAThread):
                outcome = await on_a_thread(self.answer, request, True)
        if not isinstance(outcome, Answer):
            return None
        state = scope["state"]
        state["via"] = "fast"
        state["operation"] = self.operation(request)
        return outcome


class FastPaths:
    """Which fast answerer, if any, may take a request: the method and the path's shape are
    looked at once, and only the one answerer for that shape then matches it in full. This
    runs inside `RequestContextMiddleware` (one ASGI layer for both), so every fast answer
    gets the request id, the URL and body checks and the access line every request gets."""

    def __init__(
        self,
        tables: FastPath[Any],
        listing: FastPath[Any],
        config: FastPath[Any],
        commit: CommitFastPath,
        answers: AnswerCache | None = None,
    ) -> None:
        self.tables = tables
        self.listing = listing
        self.config = config
        self.commit = commit
        self.answers = answers  # on SQLite: answers kept whole (`answers.AnswerCache`)

    def reader(self, scope: Scope) -> FastPath[Any] | None:
        """The one read answerer a request of this method and path shape may be for."""
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            return None
        path: str = scope["path"]
        if not path.startswith("/v1/"):
            return None
        slashes = path.count("/")
        if slashes == 6:
            return self.tables
        if method == "HEAD":
            return None
        if slashes == 3 or slashes == 5:
            return self.listing
        if path == "/v1/config":
            return self.config
        return None

    def read(self, scope: Scope) -> tuple[FastPath[Any], Any] | None:
        """The read answerer for this request and its parsed form, or None."""
        answerer = self.reader(scope)
        if answerer is None:
            return None
        request = answerer.match(scope)
        return None if request is None else (answerer, request)

    def is_commit(self, scope: Scope) -> bool:
        """A request the commit answerer should look at (it checks the rest itself)."""
        path: str = scope["path"]
        return scope["method"] == "POST" and path.count("/") == 6


def authenticated(
    authenticator: Authenticator, authorization: str | None, may_read: bool = True
) -> Principal | None:
    """The caller, or None when the full path should say why not (or may need the network
    to find out: an OIDC token's keys). Without `may_read`, a token whose row must be read
    raises `tokens.NeedsRead`."""
    try:
        if not authenticator.answers_locally(authorization):
            return None
        return authenticator.authenticate(authorization, may_read)
    except CatalogError:
        return None


def path_parts(scope: Scope, method: str, count: int) -> list[str] | None:
    """The decoded path's `count` segments after `/v1/`, for a request with `method`, or None
    when its form is not a plain one: a root path, an empty segment, or an encoded `/` in a
    name (then it is another route's path)."""
    if scope["method"] != method or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith("/v1/"):
        return None
    parts = path[4:].split("/")
    if len(parts) != count or not all(parts):
        return None
    raw: Any = scope.get("raw_path")
    if raw is None or raw.count(b"/") != count + 1:
        return None
    return parts


def query(scope: Scope, known: frozenset[str]) -> dict[str, str] | None:
    """The query as the routes read it (Starlette's parsing), or None when it holds a name
    the route does not know, or one twice: such a request goes the full way."""
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return {}
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    found = dict(pairs)
    if len(found) != len(pairs) or not found.keys() <= known:
        return None
    return found


def headers(scope: Scope, names: frozenset[bytes]) -> dict[bytes, str] | None:
    """The named headers, or None when one comes twice (the full path decides which counts)."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in names:
            if name in found:
                return None
            found[name] = value.decode("latin-1")
    return found


class WarehouseRecords:
    """Warehouse rows by id, read once: what the fast paths use of a warehouse (its name,
    location and storage) never changes while its id exists (the id is new when one is
    re-created under the same name), and the reads that name the id (a pointer, a listing)
    say whether it still does. Its trash retention and approval settings may change: the
    fast paths must not read them from here."""

    MAX_ENTRIES = 1024

    def __init__(self, read: Callable[[str], WarehouseRecord]) -> None:
        self._read = read
        self._records: dict[str, WarehouseRecord] = {}
        self._lock = threading.Lock()

    def holds(self, warehouse_id: str) -> bool:
        """Whether `get` would answer for this id without reading."""
        return warehouse_id in self._records

    def get(self, warehouse_id: str, name: str) -> WarehouseRecord | None:
        """The warehouse `name`, if its id is still `warehouse_id`."""
        record = self._records.get(warehouse_id)
        if record is not None:
            return record
        try:
            record = self._read(name)
        except (CatalogError, SQLAlchemyError):
            return None
        if record.id != warehouse_id:
            return None
        with self._lock:
            if len(self._records) >= self.MAX_ENTRIES:
                self._records.clear()
            self._records[warehouse_id] = record
        return record
