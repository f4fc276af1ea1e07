"""loadTable and tableExists for the plain case, answered before FastAPI's router.

Every engine's query starts with loadTable; through FastAPI it paid for dependency solving,
route matching over every route, two worker-thread hops and an ORM session, several times the
work of the answer itself (docs/performance.md). This layer answers the common request with
the same pieces the route uses — the same `Authenticator` and token cache, the same decision
(`security.refusal` over `POLICY`), the same ETag (`table_etag`) and body (`load_result`) —
and one prebuilt Core select. It sits inside `RequestContextMiddleware`, so the request id,
the URL and body checks and the access log line are the ones every request gets.

Whatever it does not fully understand goes to FastAPI unchanged, including every error: an
unusual query or header, a name that does not validate, a caller refused or unknown, a table
that is not there, a database that does not answer. Such a request is then answered exactly
as if this layer did not exist.

A rendered body is kept per (table, snapshots mode) with the version and metadata location it
was rendered from, and served only after the current pointer has been read from the database
on this very request: a commit by any process is seen by the next load.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from catalog.api.security import Authenticator, refusal
from catalog.auth.policy import POLICY
from catalog.exceptions import CatalogError
from catalog.service.identifiers import check_object_name, parse_namespace_path
from catalog.service.rendering import load_result, only_referenced_snapshots
from catalog.service.tables import etag_matches, table_etag
from catalog.store.pointers import Pointer, StoreUnreadable, TablePointers

LOAD_TABLE = POLICY["loadTable"]
TABLE_EXISTS = POLICY["tableExists"]
MODES = {b"": "all", b"snapshots=all": "all", b"snapshots=refs": "refs"}
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class _Rendered:
    version: int
    metadata_location: str
    body: bytes


class RenderedBodies:
    """loadTable bodies by (table id, snapshots mode), least recently used first out, bounded
    by the bytes they hold. An entry is only ever served for the pointer it was rendered from."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], _Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, pointer: Pointer, mode: str) -> bytes | None:
        key = (pointer.object_id, mode)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if (
                entry.version != pointer.version
                or entry.metadata_location != pointer.metadata_location
            ):
                return None
            self._entries.move_to_end(key)
            return entry.body

    def put(self, pointer: Pointer, mode: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return  # a handful of huge tables must not push everything else out
        key = (pointer.object_id, mode)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = _Rendered(pointer.version, pointer.metadata_location, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    @property
    def bytes(self) -> int:
        return self._bytes


class TablesFastPath:
    """ASGI middleware: loadTable (GET) and tableExists (HEAD) on
    `/v1/{prefix}/namespaces/{namespace}/tables/{table}`; everything else passes through.

    The database reads are blocking. On SQLite they are a local indexed lookup of tens of
    microseconds, cheaper than the worker-thread hop that would carry them, so they run on the
    event loop. On PostgreSQL they are a network round trip whose time this process does not
    control: they run on a worker thread (one hop for the whole request), so that a slow
    database never stalls the loop's other requests.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        pointers: TablePointers,
        in_thread: bool,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.pointers = pointers
        self.in_thread = in_thread
        self.bodies = RenderedBodies(cache_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _plain_request(scope) if scope["type"] == "http" else None
        if request is not None:
            if self.in_thread:
                answer = await run_in_threadpool(self.answer, request)
            else:
                answer = self.answer(request)
            if answer is not None:
                state = scope.setdefault("state", {})
                state["via"] = "fast"
                state["operation"] = "loadTable" if request.method == "GET" else "tableExists"
                await send(
                    {
                        "type": "http.response.start",
                        "status": answer.status,
                        "headers": answer.headers,
                    }
                )
                await send({"type": "http.response.body", "body": answer.body})
                return
        await self.app(scope, receive, send)

    def answer(self, request: _Request) -> Answer | None:
        """The response, or None for the full path to give it."""
        try:
            namespace = parse_namespace_path(request.namespace)
            check_object_name(request.table)
            if not self.authenticator.answers_locally(request.authorization):
                return None
            principal = self.authenticator.authenticate(request.authorization)
        except CatalogError:
            return None
        rule = LOAD_TABLE if request.method == "GET" else TABLE_EXISTS
        if rule.audited or refusal(principal, rule, request.prefix, [namespace]) is not None:
            return None
        try:
            pointer = self.pointers.pointer(request.prefix, namespace, request.table)
        except StoreUnreadable:
            return None
        if pointer is None or pointer.kind != "table":
            return None
        if request.method == "HEAD":
            return Answer(204, [])
        etag = table_etag(pointer.metadata_location, request.mode)
        if etag_matches(etag, request.if_none_match):
            return Answer(304, [(b"etag", etag.encode("latin-1"))])
        body = self.bodies.get(pointer, request.mode)
        if body is None:
            body = self._render(pointer, request.mode)
            if body is None:
                return None
            self.bodies.put(pointer, request.mode, body)
        headers = [
            (b"etag", etag.encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")),
            _JSON,
        ]
        return Answer(200, headers, body)

    def _render(self, pointer: Pointer, mode: str) -> bytes | None:
        try:
            text = self.pointers.metadata_json(pointer)
        except StoreUnreadable:
            return None
        if text is None:  # committed to since the pointer was read: the full path answers
            return None
        if mode == "refs":
            text = only_referenced_snapshots(text)
        return load_result(pointer.metadata_location, text, {})


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    prefix: str
    namespace: str
    table: str
    mode: str
    authorization: str | None
    if_none_match: str | None


def _plain_request(scope: Scope) -> _Request | None:
    """The request, if it is one this layer answers: the route's own path, nothing in the
    query but `snapshots`, and no access delegation asked for."""
    method = scope["method"]
    if method != "GET" and method != "HEAD":
        return None
    path: str = scope["path"]
    if not path.startswith("/v1/") or scope.get("root_path"):
        return None
    parts = path.split("/")
    if len(parts) != 7 or parts[3] != "namespaces" or parts[5] != "tables":
        return None
    if not all(parts[2:]):
        return None
    raw: Any = scope.get("raw_path")
    if raw is None or raw.count(b"/") != 6:  # an encoded '/' in a name: another route's path
        return None
    mode = MODES.get(scope.get("query_string", b""))
    if mode is None or (method == "HEAD" and scope.get("query_string")):
        return None
    authorization = if_none_match = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"if-none-match":
            if if_none_match is None:
                if_none_match = value.decode("latin-1")
        elif name == b"x-iceberg-access-delegation":
            return None
    return _Request(method, parts[2], parts[4], parts[6], mode, authorization, if_none_match)
