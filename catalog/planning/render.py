"""Data and delete files as the spec's JSON (ContentFile, DataFile, PositionDeleteFile,
EqualityDeleteFile): the one hand-written rendering of planning, since pyiceberg only reads it.

Values follow the spec's PrimitiveTypeValue: dates, times and timestamps as ISO-8601 text,
decimals and UUIDs as text, binary as hex. Column statistics go out only for the fields the
client named in `stats-fields` (a plan of 10,000 files is mostly statistics otherwise).

A data file's JSON is rendered once (`RenderedFiles`) and kept in the manifest cache with
its manifest, as bytes `orjson` places in an answer as they are: a warm plan is mostly a join.
It is keyed with what the rendering depends on (the partition's types, the statistics' fields
and types), so a table whose schema evolved, or another client's `stats-fields`, never reads
a rendering made for other types.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from decimal import Decimal
from typing import Any

import orjson
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.types import (
    DateType,
    IcebergType,
    PrimitiveType,
    StructType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
    TimeType,
)
from pyiceberg.utils.datetime import (
    days_to_date,
    micros_to_time,
    micros_to_timestamp,
    micros_to_timestamptz,
)

from catalog.planning.cache import ManifestCache

_CONTENT = {
    DataFileContent.DATA: "data",
    DataFileContent.POSITION_DELETES: "position-deletes",
    DataFileContent.EQUALITY_DELETES: "equality-deletes",
}


def json_value(value: Any, field_type: IcebergType) -> Any:
    """One value of `field_type` (in pyiceberg's internal form) as the spec writes it."""
    if value is None:
        return None
    if isinstance(field_type, DateType) and isinstance(value, int):
        return days_to_date(value).isoformat()
    if isinstance(field_type, TimeType) and isinstance(value, int):
        return micros_to_time(value).isoformat()
    if isinstance(field_type, TimestamptzType | TimestamptzNanoType) and isinstance(value, int):
        return micros_to_timestamptz(value).isoformat()
    if isinstance(field_type, TimestampType | TimestampNanoType) and isinstance(value, int):
        return micros_to_timestamp(value).isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def content_file(
    file: DataFile,
    partition_type: StructType,
    schema: Schema,
    stats_field_ids: Collection[int] = (),
) -> dict[str, Any]:
    """The JSON of a data or delete file (partition values in the order of its spec, whose
    `partition_type` the caller computes once per spec: it is costly)."""
    partition = [
        json_value(file.partition[position], field.field_type)
        for position, field in enumerate(partition_type.fields)
    ]
    document: dict[str, Any] = {
        "spec-id": file.spec_id,
        "partition": partition,
        "content": _CONTENT[file.content],
        "file-path": file.file_path,
        "file-format": file.file_format.value.lower(),
        "file-size-in-bytes": file.file_size_in_bytes,
        "record-count": file.record_count,
    }
    if file.key_metadata:
        document["key-metadata"] = file.key_metadata.hex()
    if file.split_offsets:
        document["split-offsets"] = list(file.split_offsets)
    if file.sort_order_id is not None:
        document["sort-order-id"] = file.sort_order_id
    if file.content == DataFileContent.EQUALITY_DELETES:
        document["equality-ids"] = list(file.equality_ids or [])
    elif file.content == DataFileContent.POSITION_DELETES:
        _position_delete_fields(file, document)
    else:
        _statistics(file, schema, stats_field_ids, document)
    return document


def _position_delete_fields(file: DataFile, document: dict[str, Any]) -> None:
    for attribute, key in (
        ("referenced_data_file", "referenced-data-file"),
        ("content_offset", "content-offset"),
        ("content_size_in_bytes", "content-size-in-bytes"),
    ):
        value = getattr(file, attribute, None)
        if value is not None:
            document[key] = value


def _statistics(
    file: DataFile, schema: Schema, field_ids: Collection[int], document: dict[str, Any]
) -> None:
    wanted = set(field_ids)
    if not wanted:
        return
    counts = (
        ("column-sizes", file.column_sizes),
        ("value-counts", file.value_counts),
        ("null-value-counts", file.null_value_counts),
        ("nan-value-counts", file.nan_value_counts),
    )
    for key, values in counts:
        chosen = sorted(k for k in (values or {}) if k in wanted)
        if chosen:
            document[key] = {"keys": chosen, "values": [values[k] for k in chosen]}
    for key, bounds in (("lower-bounds", file.lower_bounds), ("upper-bounds", file.upper_bounds)):
        keys: list[int] = []
        decoded: list[Any] = []
        for field_id in sorted(k for k in (bounds or {}) if k in wanted):
            field_type = schema.find_type(field_id)
            if not isinstance(field_type, PrimitiveType):
                continue
            keys.append(field_id)
            decoded.append(json_value(from_bytes(field_type, bounds[field_id]), field_type))
        if keys:
            document[key] = {"keys": keys, "values": decoded}


class RenderedFiles:
    """The JSON of one plan's files: data files from the manifest cache when rendered before."""

    def __init__(
        self,
        cache: ManifestCache,
        specs: dict[int, PartitionSpec],
        schema: Schema,
        stats_field_ids: Collection[int],
    ) -> None:
        self._cache = cache
        self._specs = specs
        self._schema = schema
        self._stats = sorted(set(stats_field_ids))
        self._statistics_types = ",".join(
            f"{field_id}:{_type_name(schema, field_id)}" for field_id in self._stats
        )
        self._partition_types: dict[int, StructType] = {}
        self._fingerprints: dict[int, str] = {}

    def data_file(self, file: DataFile, manifest: str, position: int) -> orjson.Fragment:
        """`file` (entry `position` of `manifest`; -1: not from a cached manifest) as JSON."""
        if position < 0:
            return orjson.Fragment(self._render(file, self._stats))
        key = f"{manifest}\x00{self._fingerprint(file.spec_id)}"
        table = self._cache.rendered(key)
        found: orjson.Fragment | None = table.get(position)
        if found is None:
            rendered = self._render(file, self._stats)
            table[position] = found = orjson.Fragment(rendered)
            self._cache.charge(key, len(rendered) + RENDERED_ENTRY_OVERHEAD)
        return found

    def delete_file(self, file: DataFile) -> orjson.Fragment:
        """A delete file as JSON (few per plan: not cached)."""
        return orjson.Fragment(self._render(file, ()))

    def _render(self, file: DataFile, stats: Collection[int]) -> bytes:
        partition_type = self._partition_type(file.spec_id)
        return orjson.dumps(content_file(file, partition_type, self._schema, stats))

    def _partition_type(self, spec_id: int) -> StructType:
        found = self._partition_types.get(spec_id)
        if found is None:
            found = self._specs[spec_id].partition_type(self._schema)
            self._partition_types[spec_id] = found
        return found

    def _fingerprint(self, spec_id: int) -> str:
        found = self._fingerprints.get(spec_id)
        if found is None:
            found = f"{spec_id}|{self._partition_type(spec_id)}|{self._statistics_types}"
            self._fingerprints[spec_id] = found
        return found


# A rendering's cost beyond its bytes: the Fragment and its slot in the table.
RENDERED_ENTRY_OVERHEAD = 100


def _type_name(schema: Schema, field_id: int) -> str:
    try:
        return str(schema.find_type(field_id))
    except ValueError:
        return "?"
