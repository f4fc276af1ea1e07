"""getConfig (`GET /v1/config`), every client's first request, answered before FastAPI's
router (see `fast.py` for what the fast paths share).

The route's steps, in its order and with its functions: the gate (`security.refusal` over
`POLICY["getConfig"]` for the warehouse named in the query), the warehouse chosen among all of
them (`warehouses.choose_warehouse`, over one prebuilt read of their names), the gate again for
the one chosen, and the body (`config.config_body`). A warehouse has no update, so its body is
kept per warehouse id; the read of the names on every request says whether it still exists.
On PostgreSQL a warm request is answered on the event loop, as loadTable's is (`tables_fast`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.types import Scope

from catalog.api.config import GET_CONFIG, config_body
from catalog.api.fast import (
    ON_A_THREAD,
    Answer,
    FastPath,
    Outcome,
    WarehouseRecords,
    authenticated,
    headers,
    query,
)
from catalog.api.security import Authenticator, refusal
from catalog.auth.principal import Principal
from catalog.exceptions import CatalogError
from catalog.service.catalog import CatalogService
from catalog.service.tokens import NeedsRead
from catalog.service.warehouses import choose_warehouse
from catalog.store.listings import Listings, WarehouseName
from catalog.store.pointers import StoreUnreadable

PATH = "/v1/config"
_QUERY = frozenset({"warehouse"})
_HEADERS = frozenset({b"authorization"})
MAX_BODIES = 1024


@dataclass(frozen=True, slots=True)
class _Request:
    warehouse: str | None
    authorization: str | None


class ConfigFastPath(FastPath[_Request]):
    def __init__(
        self,
        authenticator: Authenticator,
        listings: Listings,
        catalog: CatalogService,
        warehouses: WarehouseRecords,
        default_warehouse: str,
        endpoints: list[str],
        in_thread: bool,
    ) -> None:
        super().__init__(in_thread)
        self.authenticator = authenticator
        self.listings = listings
        self.catalog = catalog
        self.warehouses = warehouses
        self.default_warehouse = default_warehouse
        self.endpoints = endpoints
        self._bodies: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def operation(self, request: _Request) -> str:
        return "getConfig"

    def match(self, scope: Scope) -> _Request | None:
        if scope["method"] != "GET" or scope["path"] != PATH or scope.get("root_path"):
            return None
        if scope.get("raw_path") != PATH.encode():
            return None
        found_query = query(scope, _QUERY)
        found_headers = headers(scope, _HEADERS)
        if found_query is None or found_headers is None:
            return None
        return _Request(found_query.get("warehouse"), found_headers.get(b"authorization"))

    def answer(self, request: _Request, may_block: bool) -> Outcome:
        principal = authenticated(self.authenticator, request.authorization)
        if principal is None:
            return None
        if refusal(principal, GET_CONFIG, request.warehouse or "", []) is not None:
            return None
        try:
            names = self.listings.warehouses()
        except StoreUnreadable:
            return None
        return self._answer(request, principal, names, may_read=True)

    async def answer_on_loop(self, request: _Request) -> Outcome:
        """On PostgreSQL, as loadTable's: the token from this process's cache and the names
        read through asyncpg on the loop, the body from `_bodies`; a thread for the rest."""
        if self.listings.on_loop is None:
            return ON_A_THREAD
        try:
            principal = authenticated(self.authenticator, request.authorization, may_read=False)
        except NeedsRead:
            return ON_A_THREAD
        if principal is None:
            return None
        if refusal(principal, GET_CONFIG, request.warehouse or "", []) is not None:
            return None
        try:
            names = await self.listings.warehouses_on_loop()
        except StoreUnreadable:
            return ON_A_THREAD
        return self._answer(request, principal, names, may_read=False)

    def _answer(
        self,
        request: _Request,
        principal: Principal,
        names: list[WarehouseName],
        may_read: bool,
    ) -> Outcome:
        try:
            chosen = choose_warehouse(names, request.warehouse, self.default_warehouse)
        except CatalogError:
            return None
        if refusal(principal, GET_CONFIG, chosen.name, []) is not None:
            return None
        body = self._bodies.get(chosen.id)
        if body is None:
            if not may_read:
                return ON_A_THREAD
            found = self.warehouses.get(chosen.id, chosen.name)
            if found is None:
                return None
            try:
                body = config_body(self.catalog, found, self.endpoints)
            except CatalogError:  # its storage profile does not open: the route says so
                return None
            with self._lock:
                if len(self._bodies) >= MAX_BODIES:
                    self._bodies.clear()
                self._bodies[chosen.id] = body
        return Answer.json(body)
