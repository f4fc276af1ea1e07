"""What a commit changes, in words a reviewer reads: "drops column `price`", "changes
partitioning", "appends 1 data file (100 rows)".

Computed from the table's metadata before and after the commit rather than from the update
list, so a change is named by its effect whichever updates a client used to make it (a column
drop is an add-schema plus a set-current-schema). Each line that a warehouse's built-in rules
may refuse carries the rule's name (`RULES`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Document = Mapping[str, Any]

DROP_COLUMN = "drop-column"
NARROW_COLUMN = "narrow-column"
CHANGE_NULLABILITY = "change-nullability"
CHANGE_PARTITIONING = "change-partitioning"
RULES = (DROP_COLUMN, NARROW_COLUMN, CHANGE_NULLABILITY, CHANGE_PARTITIONING)

#: Type changes the Iceberg spec allows: each only widens, so readers of old data stay right.
_WIDENINGS = {("int", "long"), ("float", "double")}


@dataclass(frozen=True)
class Change:
    text: str
    rule: str | None = None


@dataclass(frozen=True)
class ChangeSummary:
    changes: list[Change] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [change.text for change in self.changes]

    def refused_by(self, rules: frozenset[str]) -> list[Change]:
        return [change for change in self.changes if change.rule in rules]


@dataclass(frozen=True)
class _Column:
    path: str
    type: Any
    required: bool


def _schema(document: Document) -> Mapping[str, Any]:
    schema_id = document.get("current-schema-id")
    for schema in document.get("schemas") or []:
        if schema.get("schema-id") == schema_id:
            return dict(schema)
    return {}


def _columns(fields: Any, prefix: str = "") -> Iterator[tuple[int, _Column]]:
    for item in fields or []:
        yield from _walk(item.get("id"), f"{prefix}{item.get('name')}", item.get("type"), item)


def _walk(
    field_id: Any, path: str, kind: Any, owner: Mapping[str, Any]
) -> Iterator[tuple[int, _Column]]:
    """A field and, for a struct, list or map, the fields inside it, by field id."""
    required = bool(owner.get("required"))
    yield field_id, _Column(path, kind, required)
    if not isinstance(kind, dict):
        return
    if kind.get("type") == "struct":
        yield from _columns(kind.get("fields"), f"{path}.")
    for part in ("element", "key", "value"):
        if f"{part}-id" in kind:
            flag = {"required": kind.get(f"{part}-required", part == "key")}
            yield from _walk(kind[f"{part}-id"], f"{path}.{part}", kind.get(part), flag)


def _type_name(kind: Any) -> str:
    return kind if isinstance(kind, str) else str((kind or {}).get("type", "nested"))


def _widens(before: Any, after: Any) -> bool:
    if (before, after) in _WIDENINGS:
        return True
    decimals = (
        isinstance(before, str)
        and isinstance(after, str)
        and before.startswith("decimal(")
        and after.startswith("decimal(")
    )
    if not decimals:
        return False
    precision_before, _, scale_before = str(before)[8:-1].partition(",")
    precision_after, _, scale_after = str(after)[8:-1].partition(",")
    wider = int(precision_after) >= int(precision_before)
    return scale_before.strip() == scale_after.strip() and wider


def _schema_changes(base: Document, new: Document) -> Iterator[Change]:
    before = dict(_columns(_schema(base).get("fields")))
    after = dict(_columns(_schema(new).get("fields")))
    for field_id, column in before.items():
        if field_id not in after:
            yield Change(f"drops column `{column.path}`", DROP_COLUMN)
            continue
        now = after[field_id]
        if now.path != column.path:
            yield Change(f"renames column `{column.path}` to `{now.path}`")
        primitive = isinstance(column.type, str) or isinstance(now.type, str)
        if primitive and column.type != now.type:
            if _widens(column.type, now.type):
                yield Change(
                    f"widens column `{now.path}` from {_type_name(column.type)} "
                    f"to {_type_name(now.type)}"
                )
            else:
                yield Change(
                    f"changes the type of column `{now.path}` from "
                    f"{_type_name(column.type)} to {_type_name(now.type)}",
                    NARROW_COLUMN,
                )
        if column.required and not now.required:
            yield Change(f"makes column `{now.path}` optional", CHANGE_NULLABILITY)
        elif now.required and not column.required:
            yield Change(f"makes column `{now.path}` required", CHANGE_NULLABILITY)
    for field_id, column in after.items():
        if field_id not in before:
            yield Change(f"adds column `{column.path}`")


def _spec_fields(document: Document) -> list[tuple[Any, Any]]:
    spec_id = document.get("default-spec-id")
    for spec in document.get("partition-specs") or []:
        if spec.get("spec-id") == spec_id:
            return [(f.get("source-id"), f.get("transform")) for f in spec.get("fields") or []]
    return []


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _files(summary: Mapping[str, Any], verb: str, side: str) -> str | None:
    files = int(summary.get(f"{side}-data-files", 0) or 0)
    rows = int(summary.get(f"{side}-records", 0) or 0)
    if not files:
        return None
    return f"{verb} {_plural(files, 'data file')} ({_plural(rows, 'row')})"


def _snapshot_changes(base: Document, new: Document) -> Iterator[Change]:
    known = {s.get("snapshot-id") for s in base.get("snapshots") or []}
    for snapshot in new.get("snapshots") or []:
        if snapshot.get("snapshot-id") in known:
            continue
        summary = snapshot.get("summary") or {}
        operation = summary.get("operation", "append")
        added = _files(summary, "adds", "added")
        removed = _files(summary, "removes", "deleted")
        if operation == "append":
            yield Change(_files(summary, "appends", "added") or "appends no data files")
        else:
            parts = [part for part in (added, removed) if part]
            yield Change(f"{operation}: " + (", ".join(parts) or "no data files changed"))


def summarize(base: Document | None, new: Document) -> ChangeSummary:
    """The changes from `base` (None: the table is being created) to `new`."""
    if base is None:
        return ChangeSummary([Change("creates the table")])
    changes = list(_schema_changes(base, new))
    if _spec_fields(base) != _spec_fields(new):
        changes.append(Change("changes partitioning", CHANGE_PARTITIONING))
    if base.get("default-sort-order-id") != new.get("default-sort-order-id"):
        changes.append(Change("changes the sort order"))
    changes.extend(_snapshot_changes(base, new))
    before_props = base.get("properties") or {}
    after_props = new.get("properties") or {}
    for key in sorted(after_props):
        if before_props.get(key) != after_props[key]:
            changes.append(Change(f"sets property `{key}`"))
    for key in sorted(set(before_props) - set(after_props)):
        changes.append(Change(f"removes property `{key}`"))
    if base.get("location") != new.get("location"):
        changes.append(Change("moves the table's location"))
    main_before = (base.get("refs") or {}).get("main", {}).get("snapshot-id")
    main_after = (new.get("refs") or {}).get("main", {}).get("snapshot-id")
    if main_before != main_after and not any(
        c.text.startswith(("appends", "overwrite", "delete", "replace")) for c in changes
    ):
        changes.append(Change(f"moves branch `main` to snapshot {main_after}"))
    return ChangeSummary(changes or [Change("changes table metadata only")])
