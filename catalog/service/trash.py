"""Soft delete: a dropped table, view or function goes to its warehouse's trash, and comes
back from it.

The contract, in the order things happen:

- A drop (with or without purge) moves the object's row to the trash in the drop's own
  transaction: it is gone from loads and listings at once, its name is free, its files stay.
- An undrop moves the row back, with the same id, metadata pointer and version, under its own
  name or another one; a name taken since is refused (409) rather than replaced.
- A function is trashed and undropped the same way (it has no files, so nothing to purge);
  its name is apart from tables' and views', so an undrop may name the `kind` it wants.
- When the retention ends, the scheduler claims the entry (one conditional write, after which
  no undrop can take it), deletes the files of a table whose drop asked for purge, through the
  table's confined storage (its own location only, with credentials vended for it), and then
  forgets the entry. A drop that did not ask for purge leaves the files where they are.
- A trashed table whose purge is still to come keeps its location: no live object may be
  placed at, above or below it, or the purge would take that object's files.
- The retention is the warehouse's `icefloe.trash.retention-seconds` property, else the
  server's `trash_retention_seconds` (7 days); 0 drops at once, as without a trash. Setting
  it (admin API, CLI) applies to what the trash holds already: each entry then expires its
  new retention after its drop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.events.types import ChangeEvent, EventType, namespace_event, object_event
from catalog.exceptions import (
    AlreadyExists,
    BadRequest,
    CommitFailed,
    Conflict,
    Forbidden,
    NoSuchFunction,
    NoSuchNamespace,
    NotFound,
)
from catalog.service.audit import Actor
from catalog.service.context import ServiceContext
from catalog.service.function_metadata import parse_function_metadata
from catalog.service.identifiers import check_namespace, check_new_name, dotted
from catalog.service.locations import check_no_overlap
from catalog.service.namespaces import require_namespace
from catalog.service.ports import CatalogTransaction
from catalog.service.protection import (
    PROTECTED,
    marked,
    refuse_if_namespace_protected,
    refuse_if_protected,
)
from catalog.service.table_storage import OutsideLocation, TableStorage
from catalog.store.records import (
    FunctionRecord,
    NamespaceRecord,
    ObjectRecord,
    TrashKind,
    TrashRecord,
    WarehouseRecord,
)

log = logging.getLogger("icefloe.trash")

RETENTION_PROPERTY = "icefloe.trash.retention-seconds"
SEPARATOR = "\x1f"
#: A purge claimed this long ago and not finished (its process died) is taken up again.
STALE_CLAIM = timedelta(hours=1)


class NothingInTrash(NotFound):
    """No such entry in the trash: a 404 NotFoundException, like any missing thing."""


def retention(context: ServiceContext, warehouse: WarehouseRecord) -> timedelta:
    value = warehouse.properties.get(RETENTION_PROPERTY)
    if value is not None and value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    return context.limits.trash_retention


def parse_retention(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10 * 365 * 86400:
        raise BadRequest("retention-seconds must be a whole number of seconds, 0 to 10 years")
    return value


def _target(warehouse: WarehouseRecord, namespace: Sequence[str], name: str) -> str:
    return f"{warehouse.name}/{dotted(namespace)}/{name}"


def _namespace_chain(
    tx: CatalogTransaction,
    warehouse: WarehouseRecord,
    levels: Sequence[str],
    known: dict[str, dict[str, str]] | None = None,
) -> dict[str, dict[str, str]]:
    """The properties of every level from the root down to `levels`."""
    chain: dict[str, dict[str, str]] = {}
    for depth in range(1, len(levels) + 1):
        key = SEPARATOR.join(levels[:depth])
        if known is not None and key in known:
            chain[key] = known[key]
            continue
        found = tx.namespace(warehouse.id, levels[:depth])
        if found is not None:
            chain[key] = dict(found.properties)
    return chain


def discard(
    context: ServiceContext,
    tx: CatalogTransaction,
    warehouse: WarehouseRecord,
    record: ObjectRecord,
    *,
    purge: bool,
    actor: Actor,
    known_namespaces: dict[str, dict[str, str]] | None = None,
) -> bool:
    """Drop a live object inside the caller's transaction: to the trash, or (retention 0) for
    good. True when it was dropped for good, so that a requested purge is the caller's to do
    once the transaction has committed."""
    refuse_if_protected(record, "purged" if purge else "dropped")
    keep = retention(context, warehouse)
    what = "Table" if record.kind == "table" else "View"
    target = _target(warehouse, record.namespace, record.name)
    dropped = EventType.TABLE_DROPPED if record.kind == "table" else EventType.VIEW_DROPPED
    data: dict[str, Any] = {"purge": purge, "metadata-location": record.metadata_location}
    if keep <= timedelta(0):
        if tx.delete_object(record):
            tx.emit(_event(dropped, warehouse, record, {**data, "trash": False}))
        return True
    now = datetime.now(UTC)
    moved = tx.move_to_trash(
        record,
        namespaces=_namespace_chain(tx, warehouse, record.namespace, known_namespaces),
        purge_requested=purge,
        dropped_by=actor.principal,
        now=now,
        expires_at=now + keep,
    )
    if not moved:
        raise CommitFailed(f"The {record.kind} was changed concurrently; retry the drop")
    tx.emit(_event(dropped, warehouse, record, {**data, "trash": True}))
    operation = f"trash{what}WithPurge" if purge else f"trash{what}"
    tx.insert_audit(actor.principal, operation, target, actor.request_id, 200)
    return False


def refuse_if_function_protected(record: FunctionRecord) -> None:
    if marked(parse_function_metadata(record.metadata_json).properties):
        raise Forbidden(
            f"Function {dotted((*record.namespace, record.name))} is protected "
            f"({PROTECTED}=true) and cannot be dropped; an admin must clear the mark first"
        )


def discard_function(
    context: ServiceContext,
    tx: CatalogTransaction,
    warehouse: WarehouseRecord,
    record: FunctionRecord,
    *,
    actor: Actor,
    known_namespaces: dict[str, dict[str, str]] | None = None,
) -> bool:
    """Drop a live function inside the caller's transaction: to the trash, or (retention 0)
    for good (then True, as `discard` answers). Its change event says which, as a table's
    does."""
    refuse_if_function_protected(record)
    keep = retention(context, warehouse)
    where = dotted((*record.namespace, record.name))
    if keep <= timedelta(0):
        if not tx.delete_function(record):
            raise NoSuchFunction(f"Function does not exist: {where}")
        trashed = False
    else:
        now = datetime.now(UTC)
        if not tx.move_function_to_trash(
            record,
            namespaces=_namespace_chain(tx, warehouse, record.namespace, known_namespaces),
            dropped_by=actor.principal,
            now=now,
            expires_at=now + keep,
        ):
            raise CommitFailed("The function was changed concurrently; retry the drop")
        trashed = True
        target = _target(warehouse, record.namespace, record.name)
        tx.insert_audit(actor.principal, "trashFunction", target, actor.request_id, 200)
    tx.emit(
        object_event(
            EventType.FUNCTION_DROPPED,
            warehouse.name,
            record.id,
            record.namespace,
            record.name,
            {"trash": trashed},
        )
    )
    return not trashed


def _event(
    kind: EventType, warehouse: WarehouseRecord, record: ObjectRecord, data: dict[str, Any]
) -> ChangeEvent:
    return object_event(kind, warehouse.name, record.id, record.namespace, record.name, data)


def purge_files(
    context: ServiceContext, warehouse: WarehouseRecord, location: str, name: str
) -> int:
    """Delete a table's files; only under its own location, never the warehouse's, and
    through `TableStorage` (credentials vended for that location where the warehouse has a
    vendor): files the metadata names elsewhere (imported files) are never touched."""
    if location.rstrip("/") == warehouse.location.rstrip("/"):
        log.warning("event=purge_refused reason=table_at_warehouse_root table=%s", name)
        return 0
    files = TableStorage(context, warehouse, location)
    try:
        deleted = files.store.delete_prefix(files.location)
    except OutsideLocation:
        log.warning("event=purge_refused reason=location_not_canonical table=%s", name)
        return 0
    log.info("event=table_purged table=%s files=%d", name, deleted)
    return deleted


_UNDROPPED: dict[TrashKind, EventType] = {
    "table": EventType.TABLE_UNDROPPED,
    "view": EventType.VIEW_UNDROPPED,
    "function": EventType.FUNCTION_UNDROPPED,
}


def _what(kind: TrashKind) -> str:
    return kind.capitalize()


def trash_json(entry: TrashRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "namespace": list(entry.namespace),
        "name": entry.name,
        "kind": entry.kind,
        "metadata-location": entry.metadata_location,
        "purge-requested": entry.purge_requested,
        "dropped-by": entry.dropped_by,
        "dropped-at": entry.dropped_at.isoformat(),
        "expires-at": entry.expires_at.isoformat(),
        "purging": entry.purge_started_at is not None,
    }


@dataclass(frozen=True)
class Expired:
    """What one pass did to one entry whose retention ended."""

    warehouse: str
    entry: TrashRecord
    outcome: str  # purged, forgotten, failed
    files_deleted: int = 0


class TrashService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def entries(self, warehouse: str) -> list[TrashRecord]:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            return tx.list_trash(found.id)

    def set_retention(self, warehouse: str, seconds: int, actor: Actor) -> WarehouseRecord:
        seconds = parse_retention(seconds)
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            properties = {**found.properties, RETENTION_PROPERTY: str(seconds)}
            tx.set_warehouse_properties(found.id, properties)
            for entry in tx.list_trash(found.id):  # what the trash holds keeps the new rule too
                tx.set_trash_expiry(entry.id, entry.dropped_at + timedelta(seconds=seconds))
            tx.insert_audit(actor.principal, "setTrashRetention", found.name, actor.request_id, 200)
        return WarehouseRecord(
            found.id, found.name, found.location, found.storage, properties, found.created_at
        )

    def undrop(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        actor: Actor,
        *,
        entry_id: str | None = None,
        rename_to: tuple[Sequence[str], str] | None = None,
        kind: TrashKind | None = None,
    ) -> tuple[TrashRecord, tuple[tuple[str, ...], str]]:
        """Put the most recently dropped `namespace.name` (of that `kind`, when given) back,
        or the entry `entry_id`, as it was or as `rename_to`; a missing original namespace is
        re-created as it was. A function's name is apart from tables' and views': only a
        function of the name stands in its way, and only a table or view in theirs."""
        namespace = check_namespace(namespace)
        if rename_to is not None:
            destination = (check_namespace(rename_to[0]), check_new_name(rename_to[1]))
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            entry = self._entry(tx, found, namespace, name, entry_id, kind)
            if rename_to is None:
                destination = (entry.namespace, entry.name)
            target_ns = tx.namespace(found.id, destination[0])
            if target_ns is None:
                if destination[0] != entry.namespace:
                    raise NoSuchNamespace(f"Namespace does not exist: {dotted(destination[0])}")
                target_ns = self._recreate_namespace(tx, found, entry)
            if entry.kind == "function":
                taken = tx.function(found.id, destination[0], destination[1]) is not None
                existing_kind = "function"
            else:
                existing = tx.object(found.id, destination[0], destination[1])
                taken, existing_kind = existing is not None, existing.kind if existing else ""
            if taken:
                raise AlreadyExists(
                    f"Cannot undrop {dotted((*entry.namespace, entry.name))}: a "
                    f"{existing_kind} named {dotted((*destination[0], destination[1]))} exists "
                    "now; undrop it under another name (`--as`, or `as` in the request)"
                )
            if entry.location is not None:
                check_no_overlap(tx, found.id, entry.location, entry.id)
            if not tx.restore_from_trash(entry, target_ns, destination[1]):
                raise Conflict("The entry left the trash or its purge has begun")
            tx.emit(
                object_event(
                    _UNDROPPED[entry.kind],
                    found.name,
                    entry.id,
                    destination[0],
                    destination[1],
                    {"metadata-location": entry.metadata_location}
                    if entry.metadata_location is not None
                    else {},
                )
            )
            tx.insert_audit(
                actor.principal,
                f"undrop{_what(entry.kind)}",
                _target(found, destination[0], destination[1]),
                actor.request_id,
                200,
            )
        return entry, (tuple(destination[0]), destination[1])

    def _entry(
        self,
        tx: CatalogTransaction,
        warehouse: WarehouseRecord,
        namespace: Sequence[str],
        name: str,
        entry_id: str | None,
        kind: TrashKind | None,
    ) -> TrashRecord:
        where = dotted((*namespace, name))
        if entry_id is not None:
            entry = tx.trashed_by_id(entry_id)
            if (
                entry is None
                or entry.warehouse_id != warehouse.id
                or (entry.namespace, entry.name) != (tuple(namespace), name)
                or kind not in (None, entry.kind)
            ):
                raise NothingInTrash(f"No entry {entry_id} for {where} in the trash")
        else:
            entries = [
                e for e in tx.trashed(warehouse.id, namespace, name) if kind in (None, e.kind)
            ]
            if not entries:
                what = f"No {kind}" if kind else "Nothing"
                raise NothingInTrash(
                    f"{what} named {where} in the trash of warehouse {warehouse.name}"
                )
            entry = entries[0]
        if entry.purge_started_at is not None:
            raise Conflict(f"{where} is being purged: its retention has ended")
        return entry

    def _recreate_namespace(
        self, tx: CatalogTransaction, warehouse: WarehouseRecord, entry: TrashRecord
    ) -> NamespaceRecord:
        parent: NamespaceRecord | None = None
        for depth in range(1, len(entry.namespace) + 1):
            levels = entry.namespace[:depth]
            level = tx.namespace(warehouse.id, levels)
            if level is None:
                properties = entry.namespaces.get(SEPARATOR.join(levels), {})
                level = tx.insert_namespace(
                    warehouse.id, levels, dict(properties), parent.id if parent else None
                )
                tx.emit(
                    namespace_event(
                        EventType.NAMESPACE_CREATED,
                        warehouse.name,
                        level.id,
                        levels,
                        {"properties": dict(properties)},
                    )
                )
            parent = level
        assert parent is not None  # a namespace has at least one level
        return parent

    def drop_namespace(
        self, warehouse: str, levels: Sequence[str], *, purge: bool, actor: Actor
    ) -> dict[str, Any]:
        """Drop a namespace with everything under it, in one transaction: every table, view
        and function to the trash, then the namespaces. A protected namespace
        or object anywhere in it refuses the whole drop before anything changes."""
        levels = check_namespace(levels)
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            require_namespace(tx, found.id, levels)
            spaces = tx.namespaces_below(found.id, levels)
            objects = [item for space in spaces for item in tx.objects_in(space)]
            functions = [item for space in spaces for item in tx.functions_in(space)]
            for space in spaces:
                refuse_if_namespace_protected(space, "dropped")
            for item in objects:
                refuse_if_protected(item, "dropped")
            for function in functions:
                refuse_if_function_protected(function)
            known = {SEPARATOR.join(space.levels): dict(space.properties) for space in spaces}
            gone = [
                item
                for item in objects
                if discard(
                    self._context,
                    tx,
                    found,
                    item,
                    purge=purge,
                    actor=actor,
                    known_namespaces=known,
                )
            ]
            gone_functions = [
                function
                for function in functions
                if discard_function(
                    self._context, tx, found, function, actor=actor, known_namespaces=known
                )
            ]
            for space in spaces:
                tx.delete_namespace(space)
                tx.emit(
                    namespace_event(EventType.NAMESPACE_DROPPED, found.name, space.id, space.levels)
                )
            tx.insert_audit(
                actor.principal,
                "dropNamespaceRecursive",
                f"{found.name}/{dotted(levels)}",
                actor.request_id,
                200,
            )
        if purge:
            for item in gone:
                if item.kind == "table":
                    purge_files(self._context, found, item.location, item.name)
        return {
            "namespaces": [list(space.levels) for space in spaces],
            "objects": [
                {"namespace": list(item.namespace), "name": item.name, "kind": item.kind}
                for item in objects
            ]
            + [
                {"namespace": list(item.namespace), "name": item.name, "kind": "function"}
                for item in functions
            ],
            "in-trash": len(objects) + len(functions) - len(gone) - len(gone_functions),
        }

    def expire(self, now: datetime | None = None, actor: Actor | None = None) -> list[Expired]:
        """One pass: purge or forget every entry whose retention has ended."""
        from catalog.service.audit import SCHEDULER

        actor = actor or SCHEDULER
        now = now or datetime.now(UTC)
        with self._context.store.read() as tx:
            due = tx.trash_due(now, now - STALE_CLAIM)
            warehouses = {w.id: w for w in tx.list_warehouses()}
        done: list[Expired] = []
        for entry in due:
            warehouse = warehouses[entry.warehouse_id]
            with self._context.store.write() as tx:
                if not tx.claim_trash(entry, now):
                    continue  # another process has it, or it was undropped
                overlapping = (
                    tx.objects_overlapping(warehouse.id, entry.location)
                    if entry.location is not None
                    else []
                )
            try:
                done.append(self._finish(warehouse, entry, bool(overlapping), actor))
            except Exception:  # storage away: the claim goes stale and a later pass retries
                log.exception("event=trash_purge_failed table=%s", entry.name)
                done.append(Expired(warehouse.name, entry, "failed"))
        return done

    def _finish(
        self, warehouse: WarehouseRecord, entry: TrashRecord, overlapping: bool, actor: Actor
    ) -> Expired:
        deleted = 0
        purge = entry.purge_requested and entry.kind == "table"
        if purge and overlapping:
            # Never expected (placement refuses it), but a live object's files come first.
            log.warning("event=purge_refused reason=live_object_overlaps table=%s", entry.name)
            purge = False
        if purge and entry.location is not None:
            deleted = purge_files(self._context, warehouse, entry.location, entry.name)
        what = _what(entry.kind)
        with self._context.store.write() as tx:
            tx.forget_trash(entry.id)
            tx.insert_audit(
                actor.principal,
                f"purge{what}" if purge else f"forget{what}",
                _target(warehouse, entry.namespace, entry.name),
                actor.request_id,
                200,
            )
        outcome = "purged" if purge else "forgotten"
        log.info("event=trash_expired table=%s outcome=%s files=%d", entry.name, outcome, deleted)
        return Expired(warehouse.name, entry, outcome, deleted)
