"""Namespaces: hierarchical, each level created explicitly, dropped only when empty."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from catalog.events.types import EventType, namespace_event
from catalog.exceptions import BadRequest, NoSuchNamespace
from catalog.service.context import ServiceContext, finalize
from catalog.service.identifiers import check_new_namespace, dotted
from catalog.service.paging import PageRequest, next_token
from catalog.service.placement import Placer, check_namespace_placement
from catalog.service.ports import CatalogTransaction
from catalog.service.protection import check_property_keys, refuse_if_namespace_protected
from catalog.service.rendering import dumps
from catalog.store.records import IdempotencyTicket, NamespaceRecord
from catalog.store.repository import join_levels, split_levels


def require_namespace(
    tx: CatalogTransaction, warehouse_id: str, levels: Sequence[str]
) -> NamespaceRecord:
    return found_namespace(tx.namespace(warehouse_id, levels), levels)


def found_namespace(namespace: NamespaceRecord | None, levels: Sequence[str]) -> NamespaceRecord:
    """The namespace read for `levels`, or the error for its absence."""
    if namespace is None:
        raise NoSuchNamespace(f"Namespace does not exist: {dotted(levels)}")
    return namespace


def namespace_page(
    rows: Sequence[tuple[str, ...]],
    page: PageRequest,
    visible: Callable[[tuple[str, ...]], bool] | None = None,
) -> bytes:
    """listNamespaces' body from the rows read for `page` (one more than it shows)."""
    names, token = next_token([join_levels(row) for row in rows], page)
    shown = [split_levels(n) for n in names]
    if visible is not None:
        shown = [levels for levels in shown if visible(levels)]
    return dumps({"namespaces": [list(levels) for levels in shown], "next-page-token": token})


class NamespaceService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def list(
        self,
        warehouse: str,
        parent: Sequence[str],
        page_token: str | None,
        page_size: int | None,
        visible: Callable[[tuple[str, ...]], bool] | None = None,
    ) -> bytes:
        """One page; `visible` hides what the caller may not see (a page may come out short)."""
        page = self._context.limits.page(page_token, page_size)
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            if parent:
                require_namespace(tx, found.id, parent)
            rows = tx.list_namespaces(found.id, parent, page.after, page.fetch)
        return namespace_page(rows, page, visible)

    def create(
        self,
        warehouse: str,
        levels: Sequence[str],
        properties: dict[str, str],
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
    ) -> bytes:
        levels = check_new_namespace(levels)
        check_property_keys(placer, properties)
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            parent = None
            if len(levels) > 1:
                parent = tx.namespace(found.id, levels[:-1])
                if parent is None:
                    raise NoSuchNamespace(f"Parent namespace does not exist: {dotted(levels[:-1])}")
            location = properties.get("location")
            check_namespace_placement(placer, found, levels, location, parent)
            parent_id = parent.id if parent is not None else None
            created = tx.insert_namespace(found.id, levels, properties, parent_id)
            tx.emit(
                namespace_event(
                    EventType.NAMESPACE_CREATED,
                    warehouse,
                    created.id,
                    levels,
                    {"properties": properties},
                )
            )
            body = dumps({"namespace": list(levels), "properties": properties})
            return finalize(tx, ticket, body)

    def load(self, warehouse: str, levels: Sequence[str]) -> bytes:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            namespace = require_namespace(tx, found.id, levels)
        return dumps({"namespace": list(levels), "properties": namespace.properties})

    def exists(self, warehouse: str, levels: Sequence[str]) -> None:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            require_namespace(tx, found.id, levels)

    def drop(
        self, warehouse: str, levels: Sequence[str], ticket: IdempotencyTicket | None
    ) -> bytes:
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            namespace = require_namespace(tx, found.id, levels)
            refuse_if_namespace_protected(namespace, "dropped")
            tx.delete_namespace(namespace)
            tx.emit(namespace_event(EventType.NAMESPACE_DROPPED, warehouse, namespace.id, levels))
            return finalize(tx, ticket, b"")

    def update_properties(
        self,
        warehouse: str,
        levels: Sequence[str],
        removals: Sequence[str],
        updates: dict[str, str],
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
    ) -> bytes:
        overlap = set(removals) & set(updates)
        if overlap:
            raise BadRequest(f"Properties both updated and removed: {sorted(overlap)}")
        check_property_keys(placer, [*removals, *updates])
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            namespace = require_namespace(tx, found.id, levels)
            if "location" in updates:
                parent = tx.namespace(found.id, levels[:-1]) if len(levels) > 1 else None
                check_namespace_placement(placer, found, levels, updates["location"], parent)
            current = dict(tx.lock_namespace(namespace.id) or {})
            unique = list(dict.fromkeys(removals))
            removed = [key for key in unique if key in current]
            missing = [key for key in unique if key not in current]
            for key in removed:
                del current[key]
            current.update(updates)
            tx.set_namespace_properties(namespace.id, current)
            tx.emit(
                namespace_event(
                    EventType.NAMESPACE_UPDATED,
                    warehouse,
                    namespace.id,
                    levels,
                    {"updated": updates, "removed": removed, "properties": current},
                )
            )
            body = dumps({"updated": sorted(updates), "removed": removed, "missing": missing})
            return finalize(tx, ticket, body)
