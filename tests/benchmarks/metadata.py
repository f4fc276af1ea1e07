"""Realistic table metadata for the benchmarks, made by pyiceberg rather than typed by hand.

A catalog's costs scale with the metadata it stores and serves, so the rows the benchmarks
create must look like a real table's: a typical event table (nested types, a day partition, an
identifier field), append snapshots with PyIceberg's summary fields, and the snapshot and
metadata logs a table accumulates. Histories are generated as documents (pyiceberg's
update path is quadratic in the number of snapshots, too slow for 10,000) and then parsed by
pyiceberg once, so an invalid document fails at set-up rather than skewing a figure.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadataUtil, new_table_metadata
from pyiceberg.table.sorting import SortOrder
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    DecimalType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

Document = dict[str, Any]

SCHEMA = Schema(
    NestedField(1, "event_id", LongType(), required=True),
    NestedField(2, "event_time", TimestamptzType(), required=True),
    NestedField(3, "user_id", StringType(), required=False),
    NestedField(4, "country", StringType(), required=False),
    NestedField(5, "amount", DecimalType(12, 2), required=False),
    NestedField(6, "tags", ListType(7, StringType(), element_required=False), required=False),
    NestedField(
        8,
        "attributes",
        MapType(9, StringType(), 10, StringType(), value_required=False),
        required=False,
    ),
    NestedField(
        11,
        "device",
        StructType(NestedField(12, "os", StringType()), NestedField(13, "version", StringType())),
        required=False,
    ),
    identifier_field_ids=[1],
)
PARTITION_SPEC = PartitionSpec(PartitionField(2, 1000, DayTransform(), "event_time_day"))
PROPERTIES = {"write.format.default": "parquet", "write.parquet.compression-codec": "zstd"}

# What PyIceberg 0.12 writes for an append of one small Parquet file.
APPEND_SUMMARY = {
    "added-files-size": "2934",
    "added-data-files": "1",
    "added-records": "100",
    "changed-partition-count": "1",
    "total-data-files": "1",
    "total-delete-files": "0",
    "total-records": "100",
    "total-files-size": "2934",
    "total-position-deletes": "0",
    "total-equality-deletes": "0",
}
METADATA_LOG_LIMIT = 100  # write.metadata.previous-versions-max, pyiceberg's and Java's default


def new_document(location: str, table_uuid: uuid.UUID) -> Document:
    """A fresh format-v2 table as pyiceberg creates it (field ids reassigned, as on create)."""
    metadata = new_table_metadata(
        schema=SCHEMA,
        partition_spec=PARTITION_SPEC,
        sort_order=SortOrder(),
        location=location,
        properties=PROPERTIES,
        table_uuid=table_uuid,
    )
    document: Document = orjson.loads(metadata.model_dump_json())
    return document


def manifest_list(location: str, snapshot_id: int) -> str:
    return f"{location}/metadata/snap-{snapshot_id}-0-{uuid.uuid4()}.avro"


def metadata_file(location: str, version: int) -> str:
    return f"{location}/metadata/{version:05d}-{uuid.uuid4()}.metadata.json"


def snapshot_entry(
    document: Document, snapshot_id: int, sequence_number: int, timestamp_ms: int
) -> Document:
    """One append snapshot as PyIceberg writes it, on top of `document`'s current snapshot."""
    entry: Document = {
        "snapshot-id": snapshot_id,
        "sequence-number": sequence_number,
        "timestamp-ms": timestamp_ms,
        "manifest-list": manifest_list(document["location"], snapshot_id),
        "summary": {"operation": "append", **APPEND_SUMMARY},
        "schema-id": document["current-schema-id"],
    }
    parent = document.get("current-snapshot-id")
    if parent not in (None, -1):
        entry["parent-snapshot-id"] = parent
    return entry


def new_snapshot_id() -> int:
    return uuid.uuid4().int >> 65  # positive and below 2**63, like pyiceberg's ids


def add_history(document: Document, snapshots: int) -> Document:
    """`document` after `snapshots` appends, one metadata file each, as a live table carries it."""
    location = document["location"]
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - snapshots * 60_000
    current = dict(document)
    entries, log = list(document["snapshots"]), list(document["snapshot-log"])
    for index in range(snapshots):
        snapshot_id = new_snapshot_id()
        timestamp = start_ms + index * 60_000
        sequence = int(current.get("last-sequence-number", 0)) + 1
        entries.append(snapshot_entry(current, snapshot_id, sequence, timestamp))
        log.append({"snapshot-id": snapshot_id, "timestamp-ms": timestamp})
        current["current-snapshot-id"] = snapshot_id
        current["last-sequence-number"] = sequence
    if not snapshots:
        return document
    versions = range(max(0, snapshots - METADATA_LOG_LIMIT), snapshots)
    return {
        **current,
        "snapshots": entries,
        "snapshot-log": log,
        "metadata-log": [
            {"metadata-file": metadata_file(location, v), "timestamp-ms": start_ms + v * 60_000}
            for v in versions
        ],
        "refs": {"main": {"snapshot-id": current["current-snapshot-id"], "type": "branch"}},
        "last-updated-ms": now_ms,
    }


def append_to(document: Document, previous_file: str) -> Document:
    """`document` after one more append, written over `previous_file` (a new document)."""
    snapshot_id = new_snapshot_id()
    now_ms = int(time.time() * 1000)
    sequence = int(document.get("last-sequence-number", 0)) + 1
    log = [*document["metadata-log"], {"metadata-file": previous_file, "timestamp-ms": now_ms}]
    return {
        **document,
        "snapshots": [
            *document["snapshots"],
            snapshot_entry(document, snapshot_id, sequence, now_ms),
        ],
        "snapshot-log": [
            *document["snapshot-log"],
            {"snapshot-id": snapshot_id, "timestamp-ms": now_ms},
        ],
        "metadata-log": log[-METADATA_LOG_LIMIT:],
        "current-snapshot-id": snapshot_id,
        "refs": {
            **document.get("refs", {}),
            "main": {"snapshot-id": snapshot_id, "type": "branch"},
        },
        "last-sequence-number": sequence,
        "last-updated-ms": now_ms,
    }


def checked_text(document: Document) -> str:
    """The document as JSON text, after pyiceberg has accepted it as table metadata."""
    text = orjson.dumps(document).decode("utf-8")
    TableMetadataUtil.parse_raw(text)
    return text
