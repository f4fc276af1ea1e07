"""Data and delete files as the spec's JSON (ContentFile, DataFile, PositionDeleteFile,
EqualityDeleteFile): the one hand-written rendering of planning, since pyiceberg only reads it.

Values follow the spec's PrimitiveTypeValue: dates, times and timestamps as ISO-8601 text,
decimals and UUIDs as text, binary as hex. Column statistics go out only for the fields the
client named in `stats-fields` (a plan of 10,000 files is mostly statistics otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.types import (
    DateType,
    IcebergType,
    PrimitiveType,
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
    spec: PartitionSpec,
    schema: Schema,
    stats_field_ids: Collection[int] = (),
) -> dict[str, Any]:
    """The JSON of a data or delete file (partition values in the order of its spec)."""
    partition_type = spec.partition_type(schema)
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
