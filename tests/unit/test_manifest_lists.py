"""The containment check's manifest-list reader: what pyiceberg's `read_manifest_list` reads,
without resolving Avro readers again for a schema it has already read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import (
    ManifestContent,
    ManifestFile,
    PartitionFieldSummary,
    write_manifest_list,
)
from pyiceberg.manifest import read_manifest_list as pyiceberg_read

from catalog.service import manifest_lists

IO = PyArrowFileIO()


def manifest(path: str, snapshot_id: int, content: ManifestContent) -> ManifestFile:
    return ManifestFile.from_args(
        manifest_path=path,
        manifest_length=1234,
        partition_spec_id=0,
        content=content,
        sequence_number=3,
        min_sequence_number=2,
        added_snapshot_id=snapshot_id,
        added_files_count=2,
        existing_files_count=1,
        deleted_files_count=0,
        added_rows_count=20,
        existing_rows_count=10,
        deleted_rows_count=0,
        partitions=[PartitionFieldSummary(False, True, b"\x01\x00\x00\x00", b"\x09\x00\x00\x00")],
    )


def write_list(path: Path, version: int, codec: str, manifests: list[ManifestFile]) -> str:
    location = f"file://{path}"
    with write_manifest_list(
        format_version=version,  # type: ignore[arg-type]
        output_file=IO.new_output(location),
        snapshot_id=7,
        parent_snapshot_id=6,
        sequence_number=3,
        avro_compression=codec,  # type: ignore[arg-type]
    ) as writer:
        writer.add_manifests(manifests)
    return location


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("codec", ["null", "deflate"])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_reads_what_pyiceberg_reads(tmp_path: Path, version: int, codec: str, count: int) -> None:
    deletes = ManifestContent.DELETES if version == 2 else ManifestContent.DATA  # v1: data only
    manifests = [
        manifest(f"file:///t/metadata/m{i}.avro", 7, deletes if i % 2 else ManifestContent.DATA)
        for i in range(count)
    ]
    location = write_list(tmp_path / "list.avro", version, codec, manifests)
    ours = list(manifest_lists.read_manifest_list(IO.new_input(location)))
    again = list(manifest_lists.read_manifest_list(IO.new_input(location)))
    assert ours == again == list(pyiceberg_read(IO.new_input(location)))
    assert [m.manifest_path for m in ours] == [m.manifest_path for m in manifests]


def test_lists_of_one_schema_share_their_readers(tmp_path: Path) -> None:
    first = write_list(tmp_path / "a.avro", 2, "null", [])
    second = write_list(
        tmp_path / "b.avro", 2, "null", [manifest("file:///t/m.avro", 7, ManifestContent.DATA)]
    )
    readers = []
    for location in (first, second):
        with manifest_lists._ManifestListFile(
            IO.new_input(location), manifest_lists.MANIFEST_LIST_FILE_SCHEMAS[2]
        ) as file:
            readers.append(file.reader)
    assert readers[0] is readers[1]


def test_a_file_that_is_not_a_manifest_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bogus.avro"
    path.write_bytes(b"Obj\x01" + b"\x00" * 40)
    with pytest.raises(Exception):  # noqa: B017 - whatever the Avro decoder makes of it
        list(manifest_lists.read_manifest_list(IO.new_input(f"file://{path}")))
