"""Append commits exactly as PyIceberg sends them, without writing data for every commit.

A PyIceberg append is, on the wire, one updateTable request: `add-snapshot` plus
`set-snapshot-ref main`, guarded by `assert-ref-snapshot-id main` (the parent) and
`assert-table-uuid`. That request is what the catalog's commit path does work for. The catalog
reads a new snapshot's manifest list (it must exist, parse and name only the table's own
files), so every append of a table shares one empty manifest list, written once per table and
process; the data and manifest files behind a real append are the client's business. Built
with pyiceberg's own models, so the JSON is PyIceberg's, and reused by the in-process baselines
(the same updates handed to pyiceberg's `SqlCatalog.commit_table`).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pyiceberg.table import CommitTableRequest
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.snapshots import Operation, Snapshot, Summary
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    AssertRefSnapshotId,
    AssertTableUUID,
    SetSnapshotRefUpdate,
    TableRequirement,
    TableUpdate,
)
from pyiceberg.typedef import Identifier

from tests.benchmarks.metadata import APPEND_SUMMARY, new_snapshot_id
from tests.support.payloads import write_empty_manifest_list

_WRITTEN: set[str] = set()


def append_manifest_list(location: str) -> str:
    """The empty manifest list the appends of the table at `location` share; written on first
    use (tables of a `file://` warehouse, as every benchmark server has)."""
    path = f"{location}/metadata/snap-empty.avro"
    if path not in _WRITTEN:
        if path.startswith("file://") and not Path(urlsplit(path).path).exists():
            with contextlib.suppress(FileExistsError):  # another driver process was first
                write_empty_manifest_list(path)
        _WRITTEN.add(path)
    return path


@dataclass(frozen=True)
class TableHead:
    """What a writer knows about its table: enough to build the next append."""

    table_uuid: uuid.UUID
    location: str
    schema_id: int
    snapshot_id: int | None
    last_sequence_number: int

    @classmethod
    def of(cls, metadata: Mapping[str, Any]) -> TableHead:
        current = metadata.get("current-snapshot-id")
        return cls(
            table_uuid=uuid.UUID(metadata["table-uuid"]),
            location=metadata["location"],
            schema_id=metadata["current-schema-id"],
            snapshot_id=None if current in (None, -1) else current,
            last_sequence_number=metadata.get("last-sequence-number", 0),
        )


@dataclass(frozen=True)
class Append:
    requirements: tuple[TableRequirement, ...]
    updates: tuple[TableUpdate, ...]
    after: TableHead  # the head once this append has landed

    def request_json(self, identifier: Identifier) -> bytes:
        request = CommitTableRequest(
            identifier={"namespace": list(identifier[:-1]), "name": identifier[-1]},
            requirements=self.requirements,
            updates=self.updates,
        )
        return request.model_dump_json().encode("utf-8")


def next_append(head: TableHead) -> Append:
    snapshot_id = new_snapshot_id()
    sequence_number = head.last_sequence_number + 1
    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        parent_snapshot_id=head.snapshot_id,
        sequence_number=sequence_number,
        timestamp_ms=int(time.time() * 1000),
        manifest_list=append_manifest_list(head.location),
        summary=Summary(Operation.APPEND, **APPEND_SUMMARY),
        schema_id=head.schema_id,
    )
    return Append(
        requirements=(
            AssertRefSnapshotId(ref="main", snapshot_id=head.snapshot_id),
            AssertTableUUID(uuid=head.table_uuid),
        ),
        updates=(
            AddSnapshotUpdate(snapshot=snapshot),
            SetSnapshotRefUpdate(
                ref_name="main",
                type=SnapshotRefType.BRANCH,
                snapshot_id=snapshot_id,
                parent_snapshot_id=head.snapshot_id,
                max_ref_age_ms=None,
                max_snapshot_age_ms=None,
                min_snapshots_to_keep=None,
            ),
        ),
        after=TableHead(
            head.table_uuid, head.location, head.schema_id, snapshot_id, sequence_number
        ),
    )


def head_of(metadata: TableMetadata) -> TableHead:
    """The head of a table pyiceberg has loaded (the in-process baselines' side)."""
    return TableHead(
        table_uuid=metadata.table_uuid,
        location=metadata.location,
        schema_id=metadata.current_schema_id,
        snapshot_id=metadata.current_snapshot_id,
        last_sequence_number=metadata.next_sequence_number() - 1,
    )
