"""The listing reads (namespaces, tables, views) and the warehouse names config resolves, as
prebuilt SQLAlchemy Core statements for the fast paths (`catalog.api.listing_fast`,
`catalog.api.config_fast`).

The pages are the repository's (`list_namespaces`, `list_objects`): the same columns, filter,
order and keyset condition, so the same rows in the same order on either database. A listing
takes two reads (find the namespace, then its page), each on its own pooled connection, with
no transaction between them: a namespace dropped in between was empty, so its empty page is
what a listing just before the drop would have shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Select, Table, bindparam, select

from catalog.store.models import CatalogObject, Namespace, Warehouse
from catalog.store.pointers import Prepared, PreparedReads
from catalog.store.records import ObjectKind
from catalog.store.repository import join_levels, split_levels

if TYPE_CHECKING:
    from catalog.store.loop_reads import LoopReads

_warehouses: Table = Warehouse.__table__  # type: ignore[assignment]
_namespaces: Table = Namespace.__table__  # type: ignore[assignment]
_objects: Table = CatalogObject.__table__  # type: ignore[assignment]

WAREHOUSE_NAMES = select(_warehouses.c.id, _warehouses.c.name).order_by(_warehouses.c.name)
WAREHOUSE_ID = select(_warehouses.c.id).where(_warehouses.c.name == bindparam("warehouse"))
NAMESPACE = (
    select(_namespaces.c.id, _namespaces.c.warehouse_id)
    .select_from(_warehouses)
    .join(_namespaces, _namespaces.c.warehouse_id == _warehouses.c.id)
    .where(
        _warehouses.c.name == bindparam("warehouse"),
        _namespaces.c.name == bindparam("namespace"),
    )
)


def _page(query: Select[Any], name: Any, after: bool, limit: bool) -> Select[Any]:
    query = query.order_by(name)
    if after:
        query = query.where(name > bindparam("after"))
    if limit:
        query = query.limit(bindparam("limit"))
    return query


def object_names(after: bool, limit: bool) -> Select[Any]:
    base = select(_objects.c.name).where(
        _objects.c.namespace_id == bindparam("namespace_id"),
        _objects.c.kind == bindparam("kind"),
    )
    return _page(base, _objects.c.name, after, limit)


def namespace_names(after: bool, limit: bool) -> Select[Any]:
    base = select(_namespaces.c.name).where(
        _namespaces.c.warehouse_id == bindparam("warehouse_id"),
        _namespaces.c.parent == bindparam("parent"),
    )
    return _page(base, _namespaces.c.name, after, limit)


@dataclass(frozen=True, slots=True)
class WarehouseName:
    id: str
    name: str


_VARIANTS = [(after, limit) for after in (False, True) for limit in (False, True)]


class Listings(PreparedReads):
    """The reads on this thread, or (`on_loop`, PostgreSQL) on the event loop: the same
    statements, compiled once for each driver."""

    def __init__(self, engine: Engine, on_loop: LoopReads | None = None) -> None:
        super().__init__(engine)
        self._warehouse_names = self.prepare(WAREHOUSE_NAMES)
        self.on_loop = on_loop
        if on_loop is not None:
            self._names_on_loop = on_loop.prepare(WAREHOUSE_NAMES)
            self._warehouse_id_on_loop = on_loop.prepare(WAREHOUSE_ID)
            self._namespace_on_loop = on_loop.prepare(NAMESPACE)
            self._objects_on_loop = {v: on_loop.prepare(object_names(*v)) for v in _VARIANTS}
            self._namespaces_on_loop = {v: on_loop.prepare(namespace_names(*v)) for v in _VARIANTS}
        self._warehouse_id = self.prepare(WAREHOUSE_ID)
        self._namespace = self.prepare(NAMESPACE)
        self._objects = {v: self.prepare(object_names(*v)) for v in _VARIANTS}
        self._namespaces = {v: self.prepare(namespace_names(*v)) for v in _VARIANTS}

    def warehouses(self) -> list[WarehouseName]:
        """Every warehouse, by name (the repository's `list_warehouses` order)."""
        return [WarehouseName(row[0], row[1]) for row in self._rows(self._warehouse_names, {})]

    async def warehouses_on_loop(self) -> list[WarehouseName]:
        """`warehouses`, read without leaving the event loop (only with `on_loop`; so are the
        other `…_on_loop` reads, each its thread twin)."""
        assert self.on_loop is not None
        rows = await self.on_loop.rows(self._names_on_loop, {})
        return [WarehouseName(row[0], row[1]) for row in rows]

    async def warehouse_id_on_loop(self, warehouse: str) -> str | None:
        assert self.on_loop is not None
        row = await self.on_loop.first(self._warehouse_id_on_loop, {"warehouse": warehouse})
        return None if row is None else str(row[0])

    async def namespace_on_loop(
        self, warehouse: str, levels: Sequence[str]
    ) -> tuple[str, str] | None:
        assert self.on_loop is not None
        values = {"warehouse": warehouse, "namespace": join_levels(levels)}
        row = await self.on_loop.first(self._namespace_on_loop, values)
        return None if row is None else (str(row[0]), str(row[1]))

    async def object_names_on_loop(
        self, namespace_id: str, kind: ObjectKind, after: str | None, limit: int | None
    ) -> list[str]:
        assert self.on_loop is not None
        prepared = self._objects_on_loop[after is not None, limit is not None]
        values = {"namespace_id": namespace_id, "kind": kind, "after": after, "limit": limit}
        return [str(row[0]) for row in await self.on_loop.rows(prepared, _used(prepared, values))]

    async def namespace_names_on_loop(
        self, warehouse_id: str, parent: Sequence[str], after: str | None, limit: int | None
    ) -> list[tuple[str, ...]]:
        assert self.on_loop is not None
        prepared = self._namespaces_on_loop[after is not None, limit is not None]
        values = {
            "warehouse_id": warehouse_id,
            "parent": join_levels(parent),
            "after": after,
            "limit": limit,
        }
        rows = await self.on_loop.rows(prepared, _used(prepared, values))
        return [split_levels(row[0]) for row in rows]

    def warehouse_id(self, warehouse: str) -> str | None:
        row = self._first(self._warehouse_id, {"warehouse": warehouse})
        return None if row is None else str(row[0])

    def namespace(self, warehouse: str, levels: Sequence[str]) -> tuple[str, str] | None:
        """(namespace id, warehouse id), or None when either is not there."""
        values = {"warehouse": warehouse, "namespace": join_levels(levels)}
        row = self._first(self._namespace, values)
        return None if row is None else (str(row[0]), str(row[1]))

    def object_names(
        self, namespace_id: str, kind: ObjectKind, after: str | None, limit: int | None
    ) -> list[str]:
        prepared = self._objects[after is not None, limit is not None]
        values = {"namespace_id": namespace_id, "kind": kind, "after": after, "limit": limit}
        return [str(row[0]) for row in self._rows(prepared, _used(prepared, values))]

    def namespace_names(
        self, warehouse_id: str, parent: Sequence[str], after: str | None, limit: int | None
    ) -> list[tuple[str, ...]]:
        prepared = self._namespaces[after is not None, limit is not None]
        values = {
            "warehouse_id": warehouse_id,
            "parent": join_levels(parent),
            "after": after,
            "limit": limit,
        }
        return [split_levels(row[0]) for row in self._rows(prepared, _used(prepared, values))]


def _used(prepared: Prepared, values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in prepared.names}
