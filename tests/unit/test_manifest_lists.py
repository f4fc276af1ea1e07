"""The containment check's manifest-list and manifest readers: what pyiceberg's readers read,
without resolving Avro readers again for a schema they have already read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.avro.file import AvroFile
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import (
    MANIFEST_ENTRY_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    PartitionFieldSummary,
    write_manifest,
    write_manifest_list,
)
from pyiceberg.manifest import read_manifest_list as pyiceberg_read
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record
from pyiceberg.types import LongType, NestedField, StringType

from catalog.service import manifest_lists
from tests.support.forged_manifests import DeleteManifestWriter

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


SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "city", StringType(), required=False),
)
SPEC = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "city"), spec_id=3)


def entry(status: ManifestEntryStatus, content: DataFileContent, path: str) -> ManifestEntry:
    return ManifestEntry.from_args(
        status=status,
        snapshot_id=7,
        sequence_number=3 if status != ManifestEntryStatus.ADDED else None,
        file_sequence_number=3 if status != ManifestEntryStatus.ADDED else None,
        data_file=DataFile.from_args(
            content=content,
            file_path=path,
            file_format=FileFormat.PARQUET,
            partition=Record("amsterdam"),
            record_count=10,
            file_size_in_bytes=1024,
            value_counts={1: 10},
        ),
    )


def write_entries(path: Path, version: int, deletes: bool, entries: list[ManifestEntry]) -> str:
    location = f"file://{path}"
    output = IO.new_output(location)
    writer = (
        DeleteManifestWriter(SPEC, SCHEMA, output, 7, "deflate")
        if deletes
        else write_manifest(version, SPEC, SCHEMA, output, 7, "deflate")  # type: ignore[arg-type]
    )
    with writer:
        for each in entries:
            writer.add_entry(each)
    return location


def pyiceberg_entries(location: str) -> list[ManifestEntry]:
    """What `ManifestFile.fetch_manifest_entry` reads, before an entry inherits from its
    manifest."""
    with AvroFile[ManifestEntry](
        IO.new_input(location),
        MANIFEST_ENTRY_SCHEMAS[2],
        read_types={-1: ManifestEntry, 2: DataFile},
        read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
    ) as reader:
        return list(reader)


@pytest.mark.parametrize(
    ("version", "deletes"), [(1, False), (2, False), (2, True)], ids=["v1", "v2", "v2-deletes"]
)
def test_reads_the_manifest_entries_pyiceberg_reads(
    tmp_path: Path, version: int, deletes: bool
) -> None:
    content = DataFileContent.POSITION_DELETES if deletes else DataFileContent.DATA
    entries = [
        entry(status, content, f"file:///t/data/{status.name}.parquet")
        for status in (ManifestEntryStatus.ADDED, ManifestEntryStatus.DELETED)
    ]
    location = write_entries(tmp_path / "m.avro", version, deletes, entries)
    ours = list(manifest_lists.read_manifest_entries(IO.new_input(location)))
    again = list(manifest_lists.read_manifest_entries(IO.new_input(location)))
    assert ours == again == pyiceberg_entries(location)
    assert [(e.status, e.data_file.content, e.data_file.file_path) for e in ours] == [
        (e.status, e.data_file.content, e.data_file.file_path) for e in entries
    ]


def test_manifests_of_one_schema_share_their_readers(tmp_path: Path) -> None:
    readers = []
    for name in ("a.avro", "b.avro"):
        added = entry(ManifestEntryStatus.ADDED, DataFileContent.DATA, f"file:///t/{name}")
        location = write_entries(tmp_path / name, 2, False, [added])
        with manifest_lists._ManifestFile(IO.new_input(location)) as file:
            readers.append(file.reader)
    assert readers[0] is readers[1]
