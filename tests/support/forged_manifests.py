"""Manifests an attacker writes into its own table's location, with its own credentials: a
delete manifest naming a file of its choosing, and a manifest list carrying it beside the
table's current manifests. pyiceberg writes data manifests only; an engine's position-delete
manifest is the same Avro file with `content` deletes."""

from __future__ import annotations

import uuid

from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriterV2,
    write_manifest_list,
)
from pyiceberg.table import Table
from pyiceberg.typedef import Record


class DeleteManifestWriter(ManifestWriterV2):
    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


def write_manifest_list_of(table: Table, snapshot_id: int, manifests: list[ManifestFile]) -> str:
    """A manifest list for a new snapshot (child of the current one) in the table's metadata
    folder, listing exactly `manifests`."""
    current = table.current_snapshot()
    assert current is not None
    location = f"{table.location().rstrip('/')}/metadata/snap-{snapshot_id}-{uuid.uuid4()}.avro"
    with write_manifest_list(
        format_version=2,
        output_file=table.io.new_output(location),
        snapshot_id=snapshot_id,
        parent_snapshot_id=current.snapshot_id,
        sequence_number=table.metadata.last_sequence_number + 1,
        avro_compression="null",
    ) as lists:
        lists.add_manifests(manifests)
    return location


def manifest_list_with_delete_file(table: Table, snapshot_id: int, delete_file: str) -> str:
    """A manifest list holding the table's current manifests and a delete manifest whose one
    position-delete file is `delete_file`; returns the list's location."""
    sequence = table.metadata.last_sequence_number + 1
    writer = DeleteManifestWriter(
        table.spec(),
        table.schema(),
        table.io.new_output(f"{table.location().rstrip('/')}/metadata/{uuid.uuid4()}-m0.avro"),
        snapshot_id,
        "null",
    )
    with writer:
        writer.add_entry(
            ManifestEntry.from_args(
                status=ManifestEntryStatus.ADDED,
                snapshot_id=snapshot_id,
                sequence_number=sequence,
                file_sequence_number=sequence,
                data_file=DataFile.from_args(
                    content=DataFileContent.POSITION_DELETES,
                    file_path=delete_file,
                    file_format=FileFormat.PARQUET,
                    partition=Record(),
                    record_count=1,
                    file_size_in_bytes=1024,
                ),
            )
        )
    current = table.current_snapshot()
    assert current is not None
    manifests = [*current.manifests(table.io), writer.to_manifest_file()]
    return write_manifest_list_of(table, snapshot_id, manifests)
