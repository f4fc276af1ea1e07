"""loadTable and tableExists for the common case, answered before FastAPI's router.

Every engine's query starts with loadTable; through FastAPI it paid for dependency solving,
route matching over every route, two worker-thread hops and an ORM session, several times the
work of the answer itself (docs/performance.md). This answerer (a `fast.FastPath`) answers the
common request with the same pieces the route uses — the same `Authenticator` and token cache,
the same decision (`security.refusal` over `POLICY`), the same ETag (`table_etag`), body
(`load_result`) and access delegation (`tables.delegation_for`, then the table service's
`table_config`, whose vended credentials are reused per (warehouse, table location, access
level) for a quarter of their lifetime) — and one prebuilt Core select.

Whatever it does not fully understand goes to FastAPI unchanged, including every error: an
unusual query or header, a name that does not validate, a caller refused or unknown, a table
that is not there, a database that does not answer, a vendor that fails.

A rendered body is kept per (table, snapshots mode) with the version and metadata location it
was rendered from, and served only after the current pointer has been read from the database
on this very request: a commit by any process is seen by the next load. A delegated load gets
that body with its `config` and `storage-credentials` put in (`rendering.with_config`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Scope

from catalog.api.fast import (
    ON_A_THREAD,
    Answer,
    FastPath,
    Outcome,
    WarehouseRecords,
    authenticated,
    headers,
    path_parts,
)
from catalog.api.security import Authenticator, refusal
from catalog.api.tables import delegation_for
from catalog.auth.policy import POLICY
from catalog.auth.principal import Principal
from catalog.exceptions import CatalogError
from catalog.service.identifiers import check_object_name, parse_namespace_path
from catalog.service.rendering import load_result, only_referenced_snapshots, with_config
from catalog.service.tables import TableService, etag_matches, table_etag
from catalog.service.tokens import NeedsRead
from catalog.store.pointers import Pointer, StoreUnreadable, TablePointers

LOAD_TABLE = POLICY["loadTable"]
TABLE_EXISTS = POLICY["tableExists"]
MODES = {b"": "all", b"snapshots=all": "all", b"snapshots=refs": "refs"}
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
_HEADERS = frozenset((b"authorization", b"if-none-match", b"x-iceberg-access-delegation"))


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


class TablesFastPath(FastPath["_Request"]):
    """loadTable (GET) and tableExists (HEAD) on
    `/v1/{prefix}/namespaces/{namespace}/tables/{table}`; everything else passes through."""

    def __init__(
        self,
        authenticator: Authenticator,
        pointers: TablePointers,
        tables: TableService,
        warehouses: WarehouseRecords,
        in_thread: bool,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        super().__init__(in_thread)
        self.authenticator = authenticator
        self.pointers = pointers
        self.tables = tables
        self.warehouses = warehouses
        self.bodies = RenderedBodies(cache_bytes)

    def match(self, scope: Scope) -> _Request | None:
        return _plain_request(scope)

    def operation(self, request: _Request) -> str:
        return "loadTable" if request.method == "GET" else "tableExists"

    def answer(self, request: _Request, may_block: bool) -> Outcome:
        admitted = self._admitted(request, may_read=True)
        if admitted is None:
            return None
        try:
            pointer = self.pointers.pointer(request.prefix, admitted[0], request.table)
        except StoreUnreadable:
            return None
        return self._finish(request, *admitted, pointer, may_block, may_read=True)

    async def answer_on_loop(self, request: _Request) -> Outcome:
        """On PostgreSQL, a warm load on the event loop: the token from this process's cache
        and the pointer read through `pointers.on_loop`. What would need a blocking read (a
        token not held fresh, a body not rendered yet, a warehouse not seen yet) is answered
        on a worker thread, as is everything when the loop's reads are unavailable."""
        if self.pointers.on_loop is None:
            return ON_A_THREAD
        try:
            admitted = self._admitted(request, may_read=False)
        except NeedsRead:
            return ON_A_THREAD
        if admitted is None:
            return None
        try:
            pointer = await self.pointers.pointer_on_loop(
                request.prefix, admitted[0], request.table
            )
        except StoreUnreadable:
            return ON_A_THREAD
        return self._finish(request, *admitted, pointer, may_block=False, may_read=False)

    def _admitted(
        self, request: _Request, may_read: bool
    ) -> tuple[tuple[str, ...], Principal] | None:
        """The namespace and the caller, if the names are valid and the caller may load."""
        try:
            namespace = parse_namespace_path(request.namespace)
            check_object_name(request.table)
        except CatalogError:
            return None
        principal = authenticated(self.authenticator, request.authorization, may_read)
        if principal is None:
            return None
        rule = LOAD_TABLE if request.method == "GET" else TABLE_EXISTS
        if rule.audited or refusal(principal, rule, request.prefix, [namespace]) is not None:
            return None
        return namespace, principal

    def _finish(
        self,
        request: _Request,
        namespace: tuple[str, ...],
        principal: Principal,
        pointer: Pointer | None,
        may_block: bool,
        may_read: bool,
    ) -> Outcome:
        """The answer at `pointer`. Without `may_read`, ON_A_THREAD where it needs a read."""
        if pointer is None or pointer.kind != "table":
            return None
        if request.method == "HEAD":
            return Answer(204, [])
        etag = table_etag(pointer.metadata_location, request.mode)
        if etag_matches(etag, request.if_none_match):
            return Answer(304, [(b"etag", etag.encode("latin-1"))])
        body = self.bodies.get(pointer, request.mode)
        if body is None:
            if not may_read:
                return ON_A_THREAD
            body = self._render(pointer, request.mode)
            if body is None:
                return None
            self.bodies.put(pointer, request.mode, body)
        tag = (b"etag", etag.encode("latin-1"))
        if request.delegation is not None:
            if not may_read and not self.warehouses.holds(pointer.warehouse_id):
                return ON_A_THREAD
            return self._delegated(request, principal, namespace, pointer, body, may_block, tag)
        return Answer.json(body, tag)

    def _delegated(
        self,
        request: _Request,
        principal: Principal,
        namespace: tuple[str, ...],
        pointer: Pointer,
        body: bytes,
        may_block: bool,
        tag: tuple[bytes, bytes],
    ) -> Outcome:
        """The body with what `X-Iceberg-Access-Delegation` asked for, as the route gives it:
        read-only credentials unless the caller may write, the remote signer's settings. The
        answer says until when its credentials may be handed out again (`Answer.expires`)."""
        warehouse = self.warehouses.get(pointer.warehouse_id, request.prefix)
        if warehouse is None:
            return None
        delegation = delegation_for(
            request.delegation, principal, request.prefix, namespace, request.signer_uri
        )
        try:
            if not may_block and not self.tables.config_is_local(
                warehouse, pointer.location, delegation
            ):
                return ON_A_THREAD
            table = self.tables.table_config(
                warehouse, pointer.location, delegation, (namespace, request.table)
            )
        except CatalogError:  # a vendor that failed: the full path reports it
            return None
        answer = Answer.json(with_config(body, table.config, table.storage_credentials), tag)
        if table.reusable_until is not None:
            answer.expires = table.reusable_until.timestamp()
        return answer

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


@dataclass(slots=True)  # not frozen: made on every request, and a frozen init costs 4x
class _Request:
    method: str
    prefix: str
    namespace: str
    table: str
    mode: str
    authorization: str | None
    if_none_match: str | None
    delegation: str | None
    signer_uri: str


def _plain_request(scope: Scope) -> _Request | None:
    """The request, if it is one this layer answers: the route's own path, nothing in the
    query but `snapshots`, and each header it reads at most once."""
    method = scope["method"]
    if method != "GET" and method != "HEAD":
        return None
    parts = path_parts(scope, method, 5)
    if parts is None or parts[1] != "namespaces" or parts[3] != "tables":
        return None
    mode = MODES.get(scope.get("query_string", b""))
    if mode is None or (method == "HEAD" and scope.get("query_string")):
        return None
    found = headers(scope, _HEADERS)
    if found is None:
        return None
    delegation = found.get(b"x-iceberg-access-delegation")
    signer_uri = ""
    if delegation is not None and "remote-signing" in delegation:
        signer_uri = str(Request(scope).base_url).rstrip("/")
    return _Request(
        method,
        parts[0],
        parts[2],
        parts[4],
        mode,
        found.get(b"authorization"),
        found.get(b"if-none-match"),
        delegation,
        signer_uri,
    )
