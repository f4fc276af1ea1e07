"""Containment: every path the catalog will later act on lies inside the table's location.

Maintenance reads and deletes what a table's metadata names (manifest lists, manifests,
statistics files, old metadata files), and the catalog's own keys reach the whole warehouse.
So a writer may name only its own table's files there: a commit whose new snapshots or
statistics point elsewhere, or a table registered or created with such metadata, is refused
with 400 before anything is written.

Only what a commit adds is checked against the base: a table whose history already points
outside (written before this rule, or moved by `set-location`) can still commit. A new table
(a staged create's first commit, register) has no base, so every path it names is checked.

For each new snapshot the manifest list is read (it must exist and parse: a snapshot without
one makes the table unreadable for every client), and so are the manifests it adds: delete
files must lie inside the location. Data files may lie outside (Iceberg imports files); the
catalog never deletes those. The writer can still rewrite its own files after the commit, so
the file check is a first gate, not the last: maintenance acts only inside the location too.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pyiceberg.io import FileIO, InputFile, InputStream, OutputFile
from pyiceberg.manifest import (
    DataFileContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
)

from catalog.exceptions import BadRequest, StorageUnavailable
from catalog.service.manifest_lists import read_manifest_list
from storage.confined import within
from storage.io import ObjectMissing, ObjectStore

T = TypeVar("T")


def inside(path: str, location: str) -> bool:
    """True when `path` names an object below the table location `location`, whichever way a
    backend reads its escapes (`storage.confined.canonical`)."""
    return within(path, location, decode_escapes=True)


def _require_inside(field: str, path: str, location: str) -> None:
    if not inside(path, location):
        raise BadRequest(f"Invalid {field} {path!r}: must lie inside the table location {location}")


def _snapshot_field(snapshot_id: int) -> str:
    return f"snapshots[snapshot-id={snapshot_id}].manifest-list"


def _statistics_paths(metadata: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for statistics in metadata.get("statistics") or ():
        field = f"statistics[snapshot-id={statistics['snapshot-id']}].statistics-path"
        yield field, statistics["statistics-path"]
    for partition in metadata.get("partition-statistics") or ():
        field = f"partition-statistics[snapshot-id={partition['snapshot-id']}].statistics-path"
        yield field, partition["statistics-path"]


@dataclass(frozen=True)
class NewSnapshots:
    """The snapshots a commit adds, whose files must be read before it may land, and the
    parents of those that have one in the new metadata (their manifests may be inherited)."""

    location: str
    snapshots: tuple[Mapping[str, Any], ...]  # snapshots as the metadata document holds them
    parents: Mapping[int, Mapping[str, Any]]


def check_commit_paths(base: Mapping[str, Any] | None, metadata: Mapping[str, Any]) -> NewSnapshots:
    """The paths `metadata` adds to `base` lie inside the table location (all of them when
    there is no base). Both are metadata documents (JSON form), as a commit has them.
    Pure: the files are read later, by `check_snapshot_files`."""
    location: str = metadata["location"]
    snapshots: list[Mapping[str, Any]] = metadata.get("snapshots") or []
    known = (
        {(s["snapshot-id"], s["manifest-list"]) for s in base.get("snapshots") or ()}
        if base
        else set()
    )
    added = [s for s in snapshots if (s["snapshot-id"], s["manifest-list"]) not in known]
    for snapshot in added:
        _require_inside(
            _snapshot_field(snapshot["snapshot-id"]), snapshot["manifest-list"], location
        )
    previous = set(_statistics_paths(base)) if base else set()
    for field, path in _statistics_paths(metadata):
        if (field, path) not in previous:
            _require_inside(field, path, location)
    if base is None:
        for index, entry in enumerate(metadata.get("metadata-log") or ()):
            _require_inside(
                f"metadata-log[{index}].metadata-file", entry["metadata-file"], location
            )
    parent_ids = {s.get("parent-snapshot-id") for s in added} - {None}
    parents = {s["snapshot-id"]: s for s in snapshots if s["snapshot-id"] in parent_ids}
    return NewSnapshots(location, tuple(added), parents)


def check_registered_paths(metadata: Mapping[str, Any], metadata_location: str) -> None:
    """A registered table names only its own files: its metadata file, its history and
    every snapshot's manifest list and statistics."""
    _require_inside("metadata-location", metadata_location, metadata["location"])
    check_commit_paths(None, metadata)


class _Bytes(InputFile):
    def __init__(self, location: str, data: bytes) -> None:
        super().__init__(location)
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def exists(self) -> bool:
        return True

    def open(self, seekable: bool = True) -> InputStream:
        return io.BytesIO(self._data)


class _StoreReader(FileIO):
    """pyiceberg's manifest readers over the warehouse's object store, read-only."""

    def __init__(self, store: ObjectStore) -> None:
        super().__init__()
        self._store = store

    def new_input(self, location: str) -> InputFile:
        return _Bytes(location, self._store.read(location))

    def new_output(self, location: str) -> OutputFile:
        raise PermissionError("containment checks never write")

    def delete(self, location: str | InputFile | OutputFile) -> None:
        raise PermissionError("containment checks never delete")


def _read(what: str, field: str, location: str, parse: Callable[[], list[T]]) -> list[T]:
    try:
        return parse()
    except ObjectMissing as error:
        raise BadRequest(f"Invalid {field}: {what} {location!r} does not exist") from error
    except OSError as error:
        raise StorageUnavailable(f"Could not read {what} {location!r}: {error}") from error
    except Exception as error:  # whatever the Avro decoder makes of a file that is not one
        raise BadRequest(f"Invalid {field}: {what} {location!r} cannot be read") from error


def _manifests(reader: _StoreReader, field: str, manifest_list: str) -> list[ManifestFile]:
    def parse() -> list[ManifestFile]:
        return list(read_manifest_list(reader.new_input(manifest_list)))

    return _read("manifest list", field, manifest_list, parse)


def _entries(reader: _StoreReader, field: str, manifest: ManifestFile) -> list[ManifestEntry]:
    def parse() -> list[ManifestEntry]:
        return manifest.fetch_manifest_entry(reader, discard_deleted=False)

    return _read("manifest", field, manifest.manifest_path, parse)


def check_snapshot_files(
    store: ObjectStore, new: NewSnapshots, checked: set[tuple[int, str]]
) -> None:
    """Read each new snapshot's manifest list and the manifests it adds: refuse a missing or
    unreadable list, a manifest it adds outside the location, a delete file outside the
    location, and a manifest outside that its parent did not already list. `checked` holds
    the snapshots already read by this commit (a retry does not read them again)."""
    reader = _StoreReader(store)
    for snapshot in new.snapshots:
        snapshot_id, manifest_list = snapshot["snapshot-id"], snapshot["manifest-list"]
        key = (snapshot_id, manifest_list)
        if key in checked:
            continue
        field = _snapshot_field(snapshot_id)
        inherited: set[str] | None = None
        for manifest in _manifests(reader, field, manifest_list):
            path = manifest.manifest_path
            if manifest.added_snapshot_id != snapshot_id:
                if inside(path, new.location):
                    continue
                if inherited is None:
                    inherited = _parent_manifests(reader, new, snapshot)
                if path not in inherited:
                    raise BadRequest(
                        f"Invalid {field}: manifest {path!r} lies outside the table location "
                        f"{new.location} and is not in the parent snapshot's manifest list"
                    )
                continue
            if not inside(path, new.location):
                raise BadRequest(
                    f"Invalid {field}: manifest {path!r} must lie inside the table location "
                    f"{new.location}"
                )
            for entry in _entries(reader, field, manifest):
                data_file = entry.data_file
                if (
                    entry.status == ManifestEntryStatus.DELETED
                    or data_file.content == DataFileContent.DATA
                ):
                    continue
                if not inside(data_file.file_path, new.location):
                    raise BadRequest(
                        f"Invalid {field}: manifest {path!r} names the delete file "
                        f"{data_file.file_path!r}, which must lie inside the table location "
                        f"{new.location}"
                    )
        checked.add(key)


def _parent_manifests(
    reader: _StoreReader, new: NewSnapshots, snapshot: Mapping[str, Any]
) -> set[str]:
    parent_id = snapshot.get("parent-snapshot-id")
    parent = new.parents.get(parent_id) if parent_id is not None else None
    if parent is None:
        return set()
    field = _snapshot_field(parent["snapshot-id"])
    return {m.manifest_path for m in _manifests(reader, field, parent["manifest-list"])}
