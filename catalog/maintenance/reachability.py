"""Which files a snapshot, or a whole table, needs: the one answer expiration and orphan
removal share.

A snapshot needs its manifest list, the manifests it lists, the live (added or existing) data
and delete files those manifests name, and the statistics files written for it. A file an entry
marks as deleted was live in an ancestor, so it counts for that ancestor, not for this snapshot.
Locations are compared normalized (`s3a://` is `s3://`, `file:/x` is `file:///x`).

Only files inside the table's location are read: a manifest list or manifest outside it counts
as needed but is not opened, and lands in the caller's `unread` set. A caller that deletes on
the strength of "nothing needs this file" must delete nothing when the needed side has unread
files (their contents, and so what they need, are unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

from pyiceberg.io import FileIO
from pyiceberg.manifest import ManifestEntryStatus, ManifestFile
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot

_SCHEMES = {"s3a": "s3", "s3n": "s3"}


def normalize(location: str) -> str:
    """One spelling per object: scheme aliases folded, percent-escapes decoded."""
    parts = urlsplit(location)
    scheme = _SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    path = unquote(parts.path)
    if scheme == "file":
        return f"file://{path}"
    return f"{scheme}://{parts.netloc}{path}"


class Reachability:
    """Reads each manifest once, however many snapshots share it; reads only what
    `readable` allows (the table's location)."""

    def __init__(self, io: FileIO, readable: Callable[[str], bool]) -> None:
        self._io = io
        self._readable = readable
        self._manifest_files: dict[str, frozenset[str]] = {}

    def manifest_files(self, manifest: ManifestFile) -> frozenset[str]:
        """The data or delete files live in one manifest."""
        key = normalize(manifest.manifest_path)
        found = self._manifest_files.get(key)
        if found is None:
            found = frozenset(
                normalize(entry.data_file.file_path)
                for entry in manifest.fetch_manifest_entry(self._io, discard_deleted=False)
                if entry.status != ManifestEntryStatus.DELETED
            )
            self._manifest_files[key] = found
        return found

    def snapshot_files(
        self, metadata: TableMetadata, snapshot: Snapshot, unread: set[str]
    ) -> set[str]:
        files = {normalize(snapshot.manifest_list)}
        files |= statistics_files(metadata, [snapshot.snapshot_id])
        if not self._readable(snapshot.manifest_list):
            unread.add(normalize(snapshot.manifest_list))
            return files
        for manifest in snapshot.manifests(self._io):
            files.add(normalize(manifest.manifest_path))
            if not self._readable(manifest.manifest_path):
                unread.add(normalize(manifest.manifest_path))
                continue
            files |= self.manifest_files(manifest)
        return files

    def snapshots_files(
        self, metadata: TableMetadata, snapshot_ids: Iterable[int], unread: set[str]
    ) -> set[str]:
        files: set[str] = set()
        for snapshot_id in snapshot_ids:
            snapshot = metadata.snapshot_by_id(snapshot_id)
            if snapshot is not None:
                files |= self.snapshot_files(metadata, snapshot, unread)
        return files

    def table_files(
        self, metadata: TableMetadata, metadata_location: str | None, unread: set[str]
    ) -> set[str]:
        """Everything the table refers to: every snapshot's files and every metadata file in
        its log, the current one included."""
        files = self.snapshots_files(metadata, [s.snapshot_id for s in metadata.snapshots], unread)
        files |= statistics_files(metadata, None)
        files |= {normalize(entry.metadata_file) for entry in metadata.metadata_log}
        if metadata_location:
            files.add(normalize(metadata_location))
        return files


def statistics_files(metadata: TableMetadata, snapshot_ids: Iterable[int] | None) -> set[str]:
    """Table and partition statistics files, of the given snapshots or of all."""
    wanted = None if snapshot_ids is None else set(snapshot_ids)
    paths = {
        s.statistics_path for s in metadata.statistics if wanted is None or s.snapshot_id in wanted
    }
    paths |= {
        s.statistics_path
        for s in metadata.partition_statistics
        if wanted is None or s.snapshot_id in wanted
    }
    return {normalize(p) for p in paths}
