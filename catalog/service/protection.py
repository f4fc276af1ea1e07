"""Deletion protection: the property `icefloe.protected=true` on a table, view or namespace.

The mark lives where every client sees it, in the object's own properties (a table's or view's
metadata, a namespace's properties), so there is one source of truth and nothing to keep in
step. Two rules, checked here and nowhere else:

- a protected object cannot be dropped (with or without purge), renamed away or unregistered,
  by anyone, and a recursive namespace drop that would reach one changes nothing;
- only an admin may set or clear the mark: a change by anyone else that touches the property
  (a commit, a multi-table transaction, a create, a namespace update) is refused whole, before
  any file is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson
from pyiceberg.table.update import RemovePropertiesUpdate, SetPropertiesUpdate

from catalog.auth.principal import Principal
from catalog.exceptions import Forbidden
from catalog.service.identifiers import dotted
from catalog.store.records import NamespaceRecord, ObjectRecord

PROTECTED = "icefloe.protected"
_MARKER = f'"{PROTECTED}"'


def marked(properties: Mapping[str, str] | None) -> bool:
    return (properties or {}).get(PROTECTED, "").strip().lower() == "true"


def object_is_protected(record: ObjectRecord) -> bool:
    """Read from the stored metadata; the text is searched first, so the document of an
    unprotected object (nearly all of them) is never parsed."""
    if _MARKER not in record.metadata_json:
        return False
    document = orjson.loads(record.metadata_json)
    return marked(document.get("properties"))


def refuse_if_protected(record: ObjectRecord, action: str) -> None:
    if object_is_protected(record):
        what = "Table" if record.kind == "table" else "View"
        raise Forbidden(
            f"{what} {dotted((*record.namespace, record.name))} is protected "
            f"({PROTECTED}=true) and cannot be {action}; an admin must clear the mark first"
        )


def refuse_if_namespace_protected(namespace: NamespaceRecord, action: str) -> None:
    if marked(namespace.properties):
        raise Forbidden(
            f"Namespace {dotted(namespace.levels)} is protected ({PROTECTED}=true) and cannot "
            f"be {action}; an admin must clear the mark first"
        )


def may_mark(who: Principal | None) -> bool:
    """The catalog itself (None: maintenance, the admin API) and admins."""
    return who is None or who.is_admin


def _refuse_marking() -> Forbidden:
    return Forbidden(f"Only a catalog admin may set or clear the property {PROTECTED}")


def check_property_keys(who: Principal | None, keys: Iterable[str]) -> None:
    """A request that sets or removes these property keys (create, namespace update)."""
    if not may_mark(who) and PROTECTED in keys:
        raise _refuse_marking()


def check_property_updates(who: Principal | None, updates: Sequence[object]) -> None:
    """A table or view commit: its set-properties and remove-properties updates."""
    if may_mark(who):
        return
    for update in updates:
        if isinstance(update, SetPropertiesUpdate) and PROTECTED in update.updates:
            raise _refuse_marking()
        if isinstance(update, RemovePropertiesUpdate) and PROTECTED in update.removals:
            raise _refuse_marking()
