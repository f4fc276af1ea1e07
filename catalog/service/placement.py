"""Where a caller may place a location: one rule for tables, views and namespaces.

A location is a claim on a folder: vended credentials cover everything below it, and purge
deletes everything below it, including files a dropped (not purged) table left there. So a
caller may claim only folders it owns:

- A warehouse-wide writer (or an admin) owns the warehouse: any location inside it that no
  live table or view overlaps (`locations.check_no_overlap`).
- A caller narrowed to namespaces owns their folders. A namespace's folder is its `location`
  property, or `<warehouse>/<levels…>`. A table or view it creates, stages, registers or moves
  lies strictly below its namespace's folder. A namespace `location` it sets lies under the
  parent's folder; for the namespace at the root of its grant, whose parent's folder holds
  namespaces it may not read, under that namespace's own default folder.

A refusal is 403: the location is valid, only not this caller's to claim. Its message names
nothing but the caller's own location and its own namespace's folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.auth.principal import Permission, Principal
from catalog.exceptions import Forbidden
from catalog.service.identifiers import dotted
from catalog.service.locations import namespace_location, normalize_location, require_within
from catalog.store.records import NamespaceRecord, WarehouseRecord
from storage.locations import is_within

Placer = Principal | None
"""Whoever places a location: a caller, or None for the catalog itself (maintenance commits,
which only ever keep a table where it is)."""


def places_anywhere(placer: Placer, warehouse: str) -> bool:
    return placer is None or placer.may(Permission.WRITE, warehouse, ())


def check_object_placement(
    placer: Placer,
    warehouse: WarehouseRecord,
    namespace: NamespaceRecord,
    location: str,
    what: str = "table location",
) -> None:
    """A table's or view's location (or a metadata file to register) lies where this caller
    may put an object of `namespace`."""
    if places_anywhere(placer, warehouse.name):
        return
    folder = namespace_location(
        warehouse.location, namespace.levels, namespace.properties.get("location")
    )
    normalized = normalize_location(location, what)
    if normalized == folder or not is_within(normalized, folder):
        raise Forbidden(
            f"Invalid {what} {location!r}: this caller may use only locations below the "
            f"location of namespace {dotted(namespace.levels)}, {folder}"
        )


def check_namespace_placement(
    placer: Placer,
    warehouse: WarehouseRecord,
    levels: Sequence[str],
    location: str | None,
    parent: NamespaceRecord | None,
) -> None:
    """A namespace `location` property lies under its parent's folder (or, at the root of the
    caller's grant, under the namespace's own default folder)."""
    if not location or placer is None or places_anywhere(placer, warehouse.name):
        return
    normalized = require_within(location, warehouse.location, "namespace location")
    if parent is not None and placer.may(Permission.WRITE, warehouse.name, parent.levels):
        folder = namespace_location(
            warehouse.location, parent.levels, parent.properties.get("location")
        )
        where = f"the location of its parent namespace {dotted(parent.levels)}"
    else:
        folder = namespace_location(warehouse.location, levels, None)
        where = "its own default location"
    if not is_within(normalized, folder):
        raise Forbidden(
            f"Invalid namespace location {location!r}: this caller may use only locations "
            f"under {where}, {folder}"
        )
