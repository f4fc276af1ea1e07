"""Commits PyIceberg has no API for: delete files (position, equality) and many data files in
many manifests at once, written with pyiceberg's own manifest writers and committed over the
REST API as one snapshot (AddSnapshot + SetSnapshotRef, guarded by AssertRefSnapshotId)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriterV2,
    write_manifest_list,
)
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Snapshot, Summary
from pyiceberg.table.update import AddSnapshotUpdate, AssertRefSnapshotId, SetSnapshotRefUpdate
from pyiceberg.typedef import Record

from tests.support.forged_manifests import DeleteManifestWriter


def _manifest(
    table: Table, snapshot_id: int, files: Sequence[DataFile], deletes: bool
) -> ManifestFile:
    path = f"{table.location()}/metadata/{uuid.uuid4()}-m0.avro"
    writer_class = DeleteManifestWriter if deletes else ManifestWriterV2
    spec = table.specs()[files[0].spec_id]
    with writer_class(
        spec, table.schema(), table.io.new_output(path), snapshot_id, "deflate"
    ) as writer:
        for file in files:
            writer.add(
                ManifestEntry.from_args(
                    status=ManifestEntryStatus.ADDED, snapshot_id=snapshot_id, data_file=file
                )
            )
    return writer.to_manifest_file()


def commit_files(
    table: Table,
    data_groups: Sequence[Sequence[DataFile]] = (),
    deletes: Sequence[DataFile] = (),
) -> Table:
    """One snapshot adding each group of data files as its own manifest, and the delete files
    in one delete manifest, on top of the current snapshot's manifests."""
    parent = table.current_snapshot()
    snapshot_id = abs(uuid.uuid4().int >> 65)
    sequence = table.metadata.next_sequence_number()
    manifests = list(parent.manifests(table.io)) if parent else []
    manifests += [_manifest(table, snapshot_id, group, False) for group in data_groups if group]
    if deletes:
        manifests.append(_manifest(table, snapshot_id, deletes, True))
    list_path = f"{table.location()}/metadata/snap-{snapshot_id}-{uuid.uuid4()}.avro"
    with write_manifest_list(
        2,
        table.io.new_output(list_path),
        snapshot_id,
        parent.snapshot_id if parent else None,
        sequence,
        "deflate",
    ) as writer:
        writer.add_manifests(manifests)
    operation = Operation.DELETE if deletes and not data_groups else Operation.APPEND
    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        parent_snapshot_id=parent.snapshot_id if parent else None,
        sequence_number=sequence,
        timestamp_ms=table.metadata.last_updated_ms + 1,
        manifest_list=list_path,
        summary=Summary(operation=operation),
        schema_id=table.schema().schema_id,
    )
    assert table.catalog is not None
    table.catalog.commit_table(
        table,
        (AssertRefSnapshotId(ref="main", snapshot_id=parent.snapshot_id if parent else None),),
        (
            AddSnapshotUpdate(snapshot=snapshot),
            SetSnapshotRefUpdate(ref_name="main", type="branch", snapshot_id=snapshot_id),
        ),
    )
    return table.refresh()


def _parquet(table: Table, rows: pa.Table, kind: str) -> tuple[str, int]:
    path = f"{table.location()}/data/{kind}-{uuid.uuid4()}.parquet"
    buffer = io.BytesIO()
    pq.write_table(rows, buffer)
    raw = buffer.getvalue()
    with table.io.new_output(path).create(overwrite=True) as out:
        out.write(raw)
    return path, len(raw)


def position_delete(table: Table, data_file: DataFile, positions: Sequence[int]) -> DataFile:
    """A position delete file (file_path, pos) for rows of one data file, in its partition."""
    rows = pa.table(
        {
            "file_path": pa.array([data_file.file_path] * len(positions), pa.string()),
            "pos": pa.array(positions, pa.int64()),
        }
    )
    path, size = _parquet(table, rows, "pos-deletes")
    file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=data_file.partition,
        record_count=len(positions),
        file_size_in_bytes=size,
    )
    file.spec_id = data_file.spec_id
    return file


def equality_delete(
    table: Table, rows: pa.Table, field_ids: list[int], spec_id: int, partition: Record
) -> DataFile:
    path, size = _parquet(table, rows, "eq-deletes")
    file = DataFile.from_args(
        content=DataFileContent.EQUALITY_DELETES,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=partition,
        record_count=rows.num_rows,
        file_size_in_bytes=size,
        equality_ids=field_ids,
    )
    file.spec_id = spec_id
    return file


def fake_data_file(table: Table, number: int, low: int, high: int) -> DataFile:
    """A data file entry for planning only (never read): `id` between low and high."""
    file = DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=f"{table.location()}/data/fake-{number:06d}.parquet",
        file_format=FileFormat.PARQUET,
        partition=Record(),
        record_count=high - low + 1,
        file_size_in_bytes=1024,
        lower_bounds={1: low.to_bytes(8, "little", signed=True)},
        upper_bounds={1: high.to_bytes(8, "little", signed=True)},
        value_counts={1: high - low + 1},
        null_value_counts={1: 0},
    )
    file.spec_id = 0
    return file
