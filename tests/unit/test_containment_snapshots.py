"""What a commit's containment check reads and judges: only the snapshots the commit adds, and
of each only the manifests it adds; a manifest carried over from the parent is taken from the
parent's list as the check read it before, and one outside the location that the parent did
not list is refused whether or not that list was read before."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    write_manifest,
    write_manifest_list,
)
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.schema import Schema
from pyiceberg.typedef import Record
from pyiceberg.types import LongType, NestedField

from catalog.exceptions import BadRequest
from catalog.service.containment import check_commit_paths, check_snapshot_files
from storage.io import LocalObjectStore

IO = PyArrowFileIO()


class CountingStore(LocalObjectStore):
    """The local store, counting what is read."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()

    def read(self, location: str) -> bytes:
        self.reads[location] += 1
        return super().read(location)


def snapshot(snapshot_id: int, manifest_list: str, parent: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {"snapshot-id": snapshot_id, "manifest-list": manifest_list}
    if parent is not None:
        found["parent-snapshot-id"] = parent
    return found


def document(location: str, snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    return {"location": location, "snapshots": snapshots}


def manifest(path: str, added_by: int) -> ManifestFile:
    return ManifestFile.from_args(
        manifest_path=path,
        manifest_length=100,
        partition_spec_id=0,
        content=ManifestContent.DATA,
        sequence_number=1,
        min_sequence_number=1,
        added_snapshot_id=added_by,
        added_files_count=0,
        existing_files_count=0,
        deleted_files_count=0,
        added_rows_count=0,
        existing_rows_count=0,
        deleted_rows_count=0,
    )


def write_manifest_file(location: str, snapshot_id: int) -> str:
    """A data manifest adding one data file."""
    path = f"{location}/metadata/{uuid.uuid4()}-m0.avro"
    schema = Schema(NestedField(1, "id", LongType(), required=True))
    output = IO.new_output(path)
    data_file = DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=f"{location}/data/{uuid.uuid4()}.parquet",
        file_format=FileFormat.PARQUET,
        partition=Record(),
        record_count=1,
        file_size_in_bytes=100,
    )
    with write_manifest(
        2, UNPARTITIONED_PARTITION_SPEC, schema, output, snapshot_id, "null"
    ) as writer:
        writer.add_entry(
            ManifestEntry.from_args(
                status=ManifestEntryStatus.ADDED, snapshot_id=snapshot_id, data_file=data_file
            )
        )
    return path


def write_list(location: str, snapshot_id: int, manifests: list[ManifestFile]) -> str:
    path = f"{location}/metadata/snap-{snapshot_id}-{uuid.uuid4()}.avro"
    with write_manifest_list(
        format_version=2,
        output_file=IO.new_output(path),
        snapshot_id=snapshot_id,
        parent_snapshot_id=None,
        sequence_number=1,
        avro_compression="null",
    ) as writer:
        writer.add_manifests(manifests)
    return path


HISTORY = [
    snapshot(i, f"s3://b/t/metadata/snap-{i}.avro", i - 1 if i > 1 else None) for i in (1, 2, 3)
]


@pytest.mark.parametrize(
    "base_snapshots",
    [HISTORY, orjson.loads(orjson.dumps(HISTORY))],
    ids=["the-base-objects", "equal-copies"],
)
def test_the_snapshots_a_commit_adds_are_those_the_base_does_not_hold(
    base_snapshots: list[dict[str, Any]],
) -> None:
    added = snapshot(4, "s3://b/t/metadata/snap-4.avro", 3)
    new = check_commit_paths(
        document("s3://b/t", base_snapshots), document("s3://b/t", [*HISTORY, added])
    )
    assert new.snapshots == (added,)
    assert dict(new.parents) == {3: HISTORY[2]}


def test_after_snapshots_were_removed_only_the_new_one_is_added() -> None:
    added = snapshot(4, "s3://b/t/metadata/snap-4.avro", 3)
    new = check_commit_paths(
        document("s3://b/t", HISTORY), document("s3://b/t", [*HISTORY[1:], added])
    )
    assert new.snapshots == (added,)


def test_a_snapshot_whose_list_changed_is_added_again() -> None:
    moved = snapshot(3, "s3://elsewhere/snap-3.avro", 2)
    with pytest.raises(BadRequest, match=r"snapshots\[snapshot-id=3\]"):
        check_commit_paths(
            document("s3://b/t", HISTORY), document("s3://b/t", [*HISTORY[:2], moved])
        )


def test_an_append_reads_its_own_list_and_the_manifest_it_adds(tmp_path: Path) -> None:
    location = (tmp_path / "t").as_uri()
    store = CountingStore()
    outside = f"{(tmp_path / 'other').as_uri()}/metadata/old-m0.avro"  # history, never read
    added = write_manifest_file(location, 2)
    parent = snapshot(1, write_list(location, 1, [manifest(outside, 0)]), None)
    child_list = write_list(location, 2, [manifest(outside, 0), manifest(added, 2)])
    child = snapshot(2, child_list, 1)
    base = document(location, [parent])

    check_snapshot_files(
        store, check_commit_paths(base, document(location, [parent, child])), set()
    )
    assert store.reads == {parent["manifest-list"]: 1, child_list: 1, added: 1}

    store.reads.clear()
    check_snapshot_files(
        store, check_commit_paths(base, document(location, [parent, child])), set()
    )
    assert store.reads == {child_list: 1, added: 1}  # the parent's list is known


@pytest.mark.parametrize("parent_read_before", [False, True])
def test_a_manifest_outside_that_the_parent_did_not_list_is_refused(
    tmp_path: Path, parent_read_before: bool
) -> None:
    location = (tmp_path / "t").as_uri()
    store = CountingStore()
    foreign = f"{(tmp_path / 'victim').as_uri()}/metadata/m0.avro"
    parent = snapshot(1, write_list(location, 1, []), None)
    if parent_read_before:
        check_snapshot_files(store, check_commit_paths(None, document(location, [parent])), set())
    child = snapshot(2, write_list(location, 2, [manifest(foreign, 1)]), 1)
    new = check_commit_paths(document(location, [parent]), document(location, [parent, child]))
    with pytest.raises(BadRequest, match="is not in the parent snapshot's manifest list"):
        check_snapshot_files(store, new, set())
