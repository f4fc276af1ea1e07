"""listNamespaces, listTables and listViews answered before FastAPI's router (see `fast.py`
for what the fast paths share).

The routes' steps with their functions: the gate (`security.refusal` over `POLICY`, with the
namespace the route's `authorize` reads), the page asked for (`Limits.page`), the rows (the
repository's queries, prebuilt: `store.listings`), and the body (`namespace_page` filtered by
`namespaces.visible_to`, or `object_page`), so the same bodies and page tokens.

A page of up to INLINE_ROWS rows is read on the event loop (on SQLite with the thread's
statements, on PostgreSQL through asyncpg, as loadTable's pointer is); a longer listing (no
pageSize on a big namespace, or a large pageSize) is read on a worker thread, found out by
reading INLINE_ROWS rows first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from starlette.types import Scope

from catalog.api.fast import (
    ON_A_THREAD,
    Answer,
    FastPath,
    OnAThread,
    Outcome,
    authenticated,
    headers,
    path_parts,
    query,
)
from catalog.api.namespaces import visible_to
from catalog.api.security import Authenticator, refusal
from catalog.auth.policy import POLICY
from catalog.auth.principal import Principal
from catalog.exceptions import CatalogError
from catalog.service.context import Limits
from catalog.service.identifiers import NAMESPACE_SEPARATOR, check_namespace, parse_namespace_path
from catalog.service.namespaces import namespace_page
from catalog.service.paging import PageRequest
from catalog.service.tables import object_page
from catalog.service.tokens import NeedsRead
from catalog.store.listings import Listings
from catalog.store.pointers import StoreUnreadable
from catalog.store.records import ObjectKind

Listing = Literal["namespaces", "tables", "views"]
OPERATIONS: dict[Listing, str] = {
    "namespaces": "listNamespaces",
    "tables": "listTables",
    "views": "listViews",
}
RULES = {
    "namespaces": POLICY["listNamespaces"],
    "tables": POLICY["listTables"],
    "views": POLICY["listViews"],
}
INLINE_ROWS = 201  # a default page (100) and its look-ahead row, twice over
_PAGING = frozenset({"pageToken", "pageSize"})
_QUERIES = {"namespaces": _PAGING | {"parent"}, "tables": _PAGING, "views": _PAGING}
_HEADERS = frozenset({b"authorization"})
_PAGE_SIZE = re.compile(r"[1-9][0-9]{0,8}")  # what the route's int parses; others go the full way
Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class _Request:
    listing: Listing
    prefix: str
    namespace: str  # the path's, or listNamespaces' `parent` ("" for none)
    page_token: str | None
    page_size: int | None
    authorization: str | None


class ListingFastPath(FastPath[_Request]):
    def __init__(
        self,
        authenticator: Authenticator,
        listings: Listings,
        limits: Limits,
        in_thread: bool,
    ) -> None:
        super().__init__(in_thread)
        self.authenticator = authenticator
        self.listings = listings
        self.limits = limits

    def operation(self, request: _Request) -> str:
        return OPERATIONS[request.listing]

    def match(self, scope: Scope) -> _Request | None:
        if scope["method"] != "GET":
            return None
        listing: Listing
        parts = path_parts(scope, "GET", 2)
        if parts is not None and parts[1] == "namespaces":
            listing, namespace = "namespaces", ""
        else:
            parts = path_parts(scope, "GET", 4)
            if parts is None or parts[1] != "namespaces" or parts[3] not in ("tables", "views"):
                return None
            listing, namespace = ("tables" if parts[3] == "tables" else "views"), parts[2]
        found_query = query(scope, _QUERIES[listing])
        found_headers = headers(scope, _HEADERS)
        if found_query is None or found_headers is None:
            return None
        size = found_query.get("pageSize")
        if size is not None and not _PAGE_SIZE.fullmatch(size):
            return None
        if listing == "namespaces":
            namespace = found_query.get("parent", "")
        return _Request(
            listing,
            parts[0],
            namespace,
            found_query.get("pageToken"),
            None if size is None else int(size),
            found_headers.get(b"authorization"),
        )

    def answer(self, request: _Request, may_block: bool) -> Outcome:
        admitted = self._admitted(request, may_read=True)
        if admitted is None:
            return None
        principal, levels, page = admitted
        try:
            if request.listing == "namespaces":
                return self._namespaces(
                    request, levels, page, may_block, visible_to(principal, request.prefix)
                )
            return self._objects(request, levels, page, may_block)
        except StoreUnreadable:
            return None

    async def answer_on_loop(self, request: _Request) -> Outcome:
        """On PostgreSQL, as loadTable's: the token from this process's cache, a page of up
        to INLINE_ROWS rows read through asyncpg on the loop; a thread for the rest."""
        if self.listings.on_loop is None:
            return ON_A_THREAD
        try:
            admitted = self._admitted(request, may_read=False)
        except NeedsRead:
            return ON_A_THREAD
        if admitted is None:
            return None
        principal, levels, page = admitted
        fits = page.fetch is not None and page.fetch <= INLINE_ROWS
        limit = page.fetch if fits else INLINE_ROWS
        listings = self.listings
        try:
            if request.listing == "namespaces":
                if levels:
                    found = await listings.namespace_on_loop(request.prefix, levels)
                    warehouse_id = None if found is None else found[1]
                else:
                    warehouse_id = await listings.warehouse_id_on_loop(request.prefix)
                if warehouse_id is None:
                    return None
                names = await listings.namespace_names_on_loop(
                    warehouse_id, levels, page.after, limit
                )
                if not fits and len(names) >= INLINE_ROWS:
                    return ON_A_THREAD
                return Answer.json(
                    namespace_page(names, page, visible_to(principal, request.prefix))
                )
            found = await listings.namespace_on_loop(request.prefix, levels)
            if found is None:
                return None
            kind: ObjectKind = "table" if request.listing == "tables" else "view"
            objects = await listings.object_names_on_loop(found[0], kind, page.after, limit)
        except StoreUnreadable:
            return ON_A_THREAD
        if not fits and len(objects) >= INLINE_ROWS:
            return ON_A_THREAD
        return Answer.json(object_page(levels, objects, page))

    def _admitted(
        self, request: _Request, may_read: bool
    ) -> tuple[Principal, tuple[str, ...], PageRequest] | None:
        """The caller, the namespace and the page, if the caller may list it."""
        principal = authenticated(self.authenticator, request.authorization, may_read)
        if principal is None:
            return None
        try:
            if request.listing == "namespaces":
                levels = check_namespace(
                    request.namespace.split(NAMESPACE_SEPARATOR) if request.namespace else [],
                    allow_empty=True,
                )
            else:
                levels = parse_namespace_path(request.namespace)
            page = self.limits.page(request.page_token, request.page_size)
        except CatalogError:
            return None
        if refusal(principal, RULES[request.listing], request.prefix, [levels]) is not None:
            return None
        return principal, levels, page

    def _namespaces(
        self,
        request: _Request,
        parent: tuple[str, ...],
        page: PageRequest,
        may_block: bool,
        visible: Callable[[tuple[str, ...]], bool],
    ) -> Outcome:
        if parent:
            found = self.listings.namespace(request.prefix, parent)
            warehouse_id = None if found is None else found[1]
        else:
            warehouse_id = self.listings.warehouse_id(request.prefix)
        if warehouse_id is None:
            return None

        def read(after: str | None, limit: int | None) -> list[tuple[str, ...]]:
            return self.listings.namespace_names(warehouse_id, parent, after, limit)

        rows = _rows(read, page, may_block)
        if isinstance(rows, OnAThread):
            return rows
        return Answer.json(namespace_page(rows, page, visible))

    def _objects(
        self, request: _Request, namespace: tuple[str, ...], page: PageRequest, may_block: bool
    ) -> Outcome:
        found = self.listings.namespace(request.prefix, namespace)
        if found is None:
            return None
        namespace_id = found[0]
        kind: ObjectKind = "table" if request.listing == "tables" else "view"

        def read(after: str | None, limit: int | None) -> list[str]:
            return self.listings.object_names(namespace_id, kind, after, limit)

        rows = _rows(read, page, may_block)
        if isinstance(rows, OnAThread):
            return rows
        return Answer.json(object_page(namespace, rows, page))


def _rows(
    read: Callable[[str | None, int | None], list[Row]], page: PageRequest, may_block: bool
) -> list[Row] | OnAThread:
    """The page's rows (and its look-ahead row); on the loop only while they are few."""
    if may_block or (page.fetch is not None and page.fetch <= INLINE_ROWS):
        return read(page.after, page.fetch)
    rows = read(page.after, INLINE_ROWS)
    return rows if len(rows) < INLINE_ROWS else ON_A_THREAD
