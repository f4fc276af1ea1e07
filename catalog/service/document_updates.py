"""The common table updates applied to the stored JSON document, without pyiceberg's models.

An append changes five fields of a document that grows with every snapshot; parsing the whole
metadata into pyiceberg's models, deep-copying it and serializing it twice made a commit cost
what its history costs. Here the stored document (one `orjson.loads`) is copied shallowly and
the few top-level fields an update touches are replaced; nested objects are shared with the
base and never changed in place, so the base stays intact and the parts a commit adds are known
by identity (`added_parts`, what the store's integer guard still has to look at).

pyiceberg's `table/update/__init__.py` stays the reference: each function below does what its
`_apply_table_update` registration does, with the same checks, in the same order, and the same
exception classes (`table_metadata.apply_table_updates` maps them to the wire once).
`tests/unit/test_document_updates.py` generates bases and update sequences and requires the
same document and the same decision from both paths. Everything else (schemas, specs, sort
orders, format upgrades, locations, UUIDs, creates, format v3 and its row lineage) goes the
pyiceberg way: `apply` answers None for it.

Two things pyiceberg does are not repeated, because these updates cannot change their outcome:
the check that the default spec and sort order fit the current schema (none of these updates
touches a schema, spec or sort order; the stored document passed it when they last changed),
and the final deep copy.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any, cast

from pyiceberg.table import TableProperties
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRef
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    RemovePartitionStatisticsUpdate,
    RemovePropertiesUpdate,
    RemoveSnapshotRefUpdate,
    RemoveSnapshotsUpdate,
    RemoveStatisticsUpdate,
    SetPartitionStatisticsUpdate,
    SetPropertiesUpdate,
    SetSnapshotRefUpdate,
    SetStatisticsUpdate,
    TableRequirement,
)
from pyiceberg.utils.config import Config
from pyiceberg.utils.properties import property_as_int

Document = dict[str, Any]

#: The update types applied here; any other sends the whole commit the pyiceberg way.
SUPPORTED: frozenset[type] = frozenset(
    {
        AddSnapshotUpdate,
        SetSnapshotRefUpdate,
        RemoveSnapshotRefUpdate,
        RemoveSnapshotsUpdate,
        SetPropertiesUpdate,
        RemovePropertiesUpdate,
        SetStatisticsUpdate,
        RemoveStatisticsUpdate,
        SetPartitionStatisticsUpdate,
        RemovePartitionStatisticsUpdate,
    }
)
#: v3 adds row lineage (`next-row-id`), which pyiceberg resets in ways not worth copying.
FORMAT_VERSIONS = frozenset({1, 2})


def now_ms() -> int:
    """The clock pyiceberg reads when an update sets no timestamp of its own."""
    return time.time_ns() // 1_000_000


@dataclass
class _Context:
    """What pyiceberg's `_TableMetadataUpdateContext` is asked: was anything applied, and
    which snapshots did this commit add."""

    added_snapshots: set[int] = field(default_factory=set)
    changed: bool = False


@dataclass(frozen=True)
class DocumentCommit:
    """The result of a commit applied to a document: the new document and whether it differs."""

    base: Document
    document: Document
    changed: bool

    def added_parts(self) -> Document:
        """Every part of `document` that is not shared with `base`: whole top-level values
        that changed, and of a changed list only its new items. A check of these and of the
        base is a check of the whole document."""
        parts: Document = {}
        for key, value in self.document.items():
            before = self.base.get(key)
            if value is before:
                continue
            if type(value) is list and type(before) is list:
                shared = {id(item) for item in before}
                parts[key] = [item for item in value if id(item) not in shared]
            else:
                parts[key] = value
        return parts


def applies(document: Document, updates: Sequence[Any]) -> bool:
    return document.get("format-version", 1) in FORMAT_VERSIONS and all(
        type(update) in SUPPORTED for update in updates
    )


class RequirementView:
    """The few fields of a table that pyiceberg's requirements read, taken from the document,
    so that each requirement's own `validate` decides (its semantics and messages, unchanged)."""

    def __init__(self, document: Document) -> None:
        self.table_uuid = uuid.UUID(document["table-uuid"])
        self.snapshots: list[Any] = document.get("snapshots") or []
        self.refs = {
            name: SnapshotRef.model_validate(ref)
            for name, ref in (document.get("refs") or {}).items()
        }
        self.last_column_id = document.get("last-column-id")
        self.current_schema_id = document.get("current-schema-id")
        self.last_partition_id = document.get("last-partition-id")
        self.default_spec_id = document.get("default-spec-id")
        self.default_sort_order_id = document.get("default-sort-order-id")


def check_document_requirements(
    requirements: Sequence[TableRequirement], view: RequirementView
) -> None:
    """Raises pyiceberg's `CommitFailedException` as `TableRequirement.validate` does."""
    for requirement in requirements:
        requirement.validate(cast(TableMetadata, view))


def apply(base: Document, updates: Sequence[Any], metadata_location: str | None) -> DocumentCommit:
    """pyiceberg's `update_table_metadata` for the updates in `SUPPORTED` (see `applies`).
    Raises what pyiceberg raises for a refused update (ValueError, KeyError, pydantic's
    ValidationError)."""
    document = dict(base)
    context = _Context()
    for update in updates:
        _apply(update, document, context)
    if context.changed:
        if metadata_location:
            _append_metadata_log(document, metadata_location, base["last-updated-ms"])
        if base.get("last-updated-ms") == document.get("last-updated-ms"):
            document["last-updated-ms"] = now_ms()
    return DocumentCommit(base, document, context.changed)


def _append_metadata_log(document: Document, metadata_location: str, timestamp_ms: int) -> None:
    limit = max(
        1,
        property_as_int(
            document.get("properties") or {},
            TableProperties.METADATA_PREVIOUS_VERSIONS_MAX,
            TableProperties.METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT,
        )
        or 0,
    )
    log: list[Any] = document.get("metadata-log") or []
    if len(log) >= limit:
        log = log[len(log) - limit + 1 :]
    document["metadata-log"] = [
        *log,
        {"metadata-file": metadata_location, "timestamp-ms": timestamp_ms},
    ]


def _set(document: Document, key: str, value: Any) -> None:
    """A field pyiceberg sets to None is left out of its serialized form."""
    if value is None:
        document.pop(key, None)
    else:
        document[key] = value


def _no_current_snapshot(document: Document) -> None:
    """As pyiceberg writes a current snapshot id of None (`serialize_current_snapshot_id`)."""
    if Config().get_bool("legacy-current-snapshot-id"):
        document["current-snapshot-id"] = -1
    else:
        document.pop("current-snapshot-id", None)


def _snapshot(document: Document, snapshot_id: int) -> Document | None:
    for snapshot in document.get("snapshots") or []:
        if snapshot.get("snapshot-id") == snapshot_id:
            return cast(Document, snapshot)
    return None


def _statistics_without(document: Document, key: str, snapshot_id: int) -> list[Any]:
    return [s for s in document.get(key) or [] if s.get("snapshot-id") != snapshot_id]


@singledispatch
def _apply(update: Any, document: Document, context: _Context) -> None:
    raise NotImplementedError(f"Unsupported table update: {update}")


@_apply.register
def _add_snapshot(update: AddSnapshotUpdate, document: Document, context: _Context) -> None:
    snapshot = update.snapshot
    if not document.get("schemas"):
        raise ValueError("Attempting to add a snapshot before a schema is added")
    if not document.get("partition-specs"):
        raise ValueError("Attempting to add a snapshot before a partition spec is added")
    if not document.get("sort-orders"):
        raise ValueError("Attempting to add a snapshot before a sort order is added")
    if _snapshot(document, snapshot.snapshot_id) is not None:
        raise ValueError(f"Snapshot with id {snapshot.snapshot_id} already exists")
    version = document.get("format-version", 1)
    last_sequence_number = document.get("last-sequence-number", 0)
    if (
        version == 2
        and snapshot.sequence_number is not None
        and snapshot.sequence_number <= last_sequence_number
        and snapshot.parent_snapshot_id is not None
    ):
        raise ValueError(
            f"Cannot add snapshot with sequence number {snapshot.sequence_number} "
            f"older than last sequence number {last_sequence_number}"
        )
    context.added_snapshots.add(snapshot.snapshot_id)
    context.changed = True
    document["last-updated-ms"] = snapshot.timestamp_ms
    if version >= 2:  # v1 metadata has no last-sequence-number to set
        _set(document, "last-sequence-number", snapshot.sequence_number)
    # v1 metadata does not write a snapshot's sequence number (`serialize_snapshots`)
    written = snapshot.model_dump(
        mode="json", exclude={"sequence_number"} if version == 1 else None
    )
    document["snapshots"] = [*(document.get("snapshots") or []), written]


@_apply.register
def _set_snapshot_ref(update: SetSnapshotRefUpdate, document: Document, context: _Context) -> None:
    ref = SnapshotRef(
        snapshot_id=update.snapshot_id,
        snapshot_ref_type=update.type,
        min_snapshots_to_keep=update.min_snapshots_to_keep,
        max_snapshot_age_ms=update.max_snapshot_age_ms,
        max_ref_age_ms=update.max_ref_age_ms,
    )
    refs: Document = document.get("refs") or {}
    existing = refs.get(update.ref_name)
    if existing is not None and SnapshotRef.model_validate(existing) == ref:
        return
    snapshot = _snapshot(document, ref.snapshot_id)
    if snapshot is None:
        raise ValueError(f"Cannot set {update.ref_name} to unknown snapshot {ref.snapshot_id}")
    last_updated_ms: int | None = None
    if ref.snapshot_id in context.added_snapshots:
        last_updated_ms = snapshot["timestamp-ms"]
        document["last-updated-ms"] = last_updated_ms
    if update.ref_name == MAIN_BRANCH:
        document["current-snapshot-id"] = ref.snapshot_id
        if last_updated_ms is None:
            last_updated_ms = now_ms()
            document["last-updated-ms"] = last_updated_ms
        document["snapshot-log"] = [
            *(document.get("snapshot-log") or []),
            {"snapshot-id": ref.snapshot_id, "timestamp-ms": last_updated_ms},
        ]
    document["refs"] = {**refs, update.ref_name: ref.model_dump(mode="json")}
    context.changed = True


@_apply.register
def _remove_snapshots(update: RemoveSnapshotsUpdate, document: Document, context: _Context) -> None:
    removed = set(update.snapshot_ids)
    snapshots: list[Document] = document.get("snapshots") or []
    present = {s.get("snapshot-id") for s in snapshots}
    for snapshot_id in update.snapshot_ids:
        if snapshot_id not in present:
            raise ValueError(f"Snapshot with snapshot id {snapshot_id} does not exist")
    kept = [
        {k: v for k, v in s.items() if k != "parent-snapshot-id"}
        if s.get("parent-snapshot-id") in removed
        else s
        for s in snapshots
        if s.get("snapshot-id") not in removed
    ]
    snapshot_log = [
        entry for entry in document.get("snapshot-log") or [] if entry["snapshot-id"] not in removed
    ]
    base_refs: Document = document.get("refs") or {}
    base_statistics: list[Document] = document.get("statistics") or []
    for name, ref in base_refs.items():
        if ref["snapshot-id"] in removed:
            _remove_snapshot_ref(RemoveSnapshotRefUpdate(ref_name=name), document, context)
    for statistics in base_statistics:
        if statistics["snapshot-id"] in removed:
            _remove_statistics(
                RemoveStatisticsUpdate(snapshot_id=statistics["snapshot-id"]), document, context
            )
    document["snapshots"] = kept
    document["snapshot-log"] = snapshot_log
    context.changed = True


@_apply.register
def _remove_snapshot_ref(
    update: RemoveSnapshotRefUpdate, document: Document, context: _Context
) -> None:
    refs: Document = document.get("refs") or {}
    if update.ref_name not in refs:
        return
    snapshot_id = refs[update.ref_name]["snapshot-id"]
    if _snapshot(document, snapshot_id) is None:
        raise ValueError(f"Cannot remove {update.ref_name} ref with unknown snapshot {snapshot_id}")
    if update.ref_name == MAIN_BRANCH:
        _no_current_snapshot(document)
    document["refs"] = {name: ref for name, ref in refs.items() if name != update.ref_name}
    context.changed = True


@_apply.register
def _set_properties(update: SetPropertiesUpdate, document: Document, context: _Context) -> None:
    if not update.updates:
        return
    document["properties"] = {**(document.get("properties") or {}), **update.updates}
    context.changed = True


@_apply.register
def _remove_properties(
    update: RemovePropertiesUpdate, document: Document, context: _Context
) -> None:
    if not update.removals:
        return
    properties = dict(document.get("properties") or {})
    for key in update.removals:
        properties.pop(key)  # a KeyError for a missing key, as pyiceberg's
    document["properties"] = properties
    context.changed = True


def _set_statistics_file(document: Document, key: str, snapshot_id: int, file: Document) -> None:
    document[key] = [*_statistics_without(document, key, snapshot_id), file]


def _remove_statistics_file(document: Document, key: str, snapshot_id: int, what: str) -> None:
    if not any(s.get("snapshot-id") == snapshot_id for s in document.get(key) or []):
        raise ValueError(f"{what} with snapshot id {snapshot_id} does not exist")
    document[key] = _statistics_without(document, key, snapshot_id)


@_apply.register
def _set_statistics(update: SetStatisticsUpdate, document: Document, context: _Context) -> None:
    statistics = update.statistics
    _set_statistics_file(
        document, "statistics", statistics.snapshot_id, statistics.model_dump(mode="json")
    )
    context.changed = True


@_apply.register
def _remove_statistics(
    update: RemoveStatisticsUpdate, document: Document, context: _Context
) -> None:
    _remove_statistics_file(document, "statistics", update.snapshot_id, "Statistics")
    context.changed = True


@_apply.register
def _set_partition_statistics(
    update: SetPartitionStatisticsUpdate, document: Document, context: _Context
) -> None:
    statistics = update.partition_statistics
    _set_statistics_file(
        document,
        "partition-statistics",
        statistics.snapshot_id,
        statistics.model_dump(mode="json"),
    )
    context.changed = True


@_apply.register
def _remove_partition_statistics(
    update: RemovePartitionStatisticsUpdate, document: Document, context: _Context
) -> None:
    _remove_statistics_file(
        document, "partition-statistics", update.snapshot_id, "Partition Statistics"
    )
    context.changed = True
