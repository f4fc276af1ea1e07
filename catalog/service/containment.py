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

What grows with a table's history is not checked again: an append's document holds every
earlier snapshot and its manifest list names every earlier manifest, but those were checked
when they were committed. The snapshots added are found by reference where the document path
shares the base's (`_added_snapshots`), and a manifest the parent's list already named is
taken from that list as read before (`ListedManifests`): per append, one manifest list and the
manifests it adds are read, and only their paths are judged.
"""

from __future__ import annotations

import io
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pyiceberg.io import InputFile, InputStream
from pyiceberg.manifest import (
    DataFileContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
)

from catalog.exceptions import BadRequest, StorageUnavailable
from catalog.service.manifest_lists import read_manifest_entries, read_manifest_list
from storage.confined import Root
from storage.io import ObjectMissing, ObjectStore

T = TypeVar("T")


class Location(Root):
    """A table location: `contains(path)` is true when `path` names an object below it,
    whichever way a backend reads its escapes (`storage.confined.canonical`)."""

    def __init__(self, location: str) -> None:
        super().__init__(location, decode_escapes=True)


def inside(path: str, location: str) -> bool:
    """True when `path` names an object below the table location `location`, whichever way a
    backend reads its escapes (`storage.confined.canonical`)."""
    return Location(location).contains(path)


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
    added = _added_snapshots(base.get("snapshots") or [] if base else [], snapshots)
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
    return NewSnapshots(location, tuple(added), _parents(added, snapshots))


def _added_snapshots(
    previous: list[Mapping[str, Any]], snapshots: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The snapshots of `snapshots` that `previous` does not hold (same id, same list).

    The document path adds snapshots after the base's own, the very same objects (documents
    are never changed in place, `document_updates`): then the added ones are the tail, found
    by comparing references instead of hashing every snapshot of the history."""
    if len(previous) <= len(snapshots) and all(map(operator.is_, snapshots, previous)):
        return snapshots[len(previous) :]
    known = {(s["snapshot-id"], s["manifest-list"]) for s in previous}
    return [s for s in snapshots if (s["snapshot-id"], s["manifest-list"]) not in known]


def _parents(
    added: list[Mapping[str, Any]], snapshots: list[Mapping[str, Any]]
) -> dict[int, Mapping[str, Any]]:
    """The added snapshots' parents that `snapshots` holds, by id. Searched from the end: an
    append's parent is the snapshot before it."""
    wanted = {s.get("parent-snapshot-id") for s in added} - {None}
    parents: dict[int, Mapping[str, Any]] = {}
    for snapshot in reversed(snapshots):
        if len(parents) == len(wanted):
            break
        snapshot_id = snapshot["snapshot-id"]
        if snapshot_id in wanted and snapshot_id not in parents:
            parents[snapshot_id] = snapshot
    return parents


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


def _read(what: str, field: str, location: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except ObjectMissing as error:
        raise BadRequest(f"Invalid {field}: {what} {location!r} does not exist") from error
    except OSError as error:
        raise StorageUnavailable(f"Could not read {what} {location!r}: {error}") from error
    except Exception as error:  # whatever the Avro decoder makes of a file that is not one
        raise BadRequest(f"Invalid {field}: {what} {location!r} cannot be read") from error


class ListedManifests:
    """The manifest paths of the manifest lists read lately, by store and list path.

    Every append lists its parent's manifests again, so the check of a list whose parent was
    read here before (the previous commit to the table, in the common case) takes the
    manifests its parent listed as they were then: a set lookup each, where checking each
    path against the location cost ~10 µs (a list grows by a manifest per append). A
    manifest list is written once and never changed by Iceberg writers; one rewritten in
    place after it was read counts with what it held when read (its writer could have left it
    so), never with more. Each entry holds its store, so an id is not reused while it lives.
    """

    def __init__(self, capacity: int = 16) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, str], tuple[ObjectStore, frozenset[str]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, store: ObjectStore, manifest_list: str) -> frozenset[str] | None:
        with self._lock:
            entry = self._entries.get((id(store), manifest_list))
            if entry is None or entry[0] is not store:
                return None
            self._entries.move_to_end((id(store), manifest_list))
            return entry[1]

    def put(self, store: ObjectStore, manifest_list: str, paths: frozenset[str]) -> None:
        with self._lock:
            self._entries[(id(store), manifest_list)] = (store, paths)
            self._entries.move_to_end((id(store), manifest_list))
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


LISTED = ListedManifests()


class _Files:
    """What one check reads from the warehouse's object store: manifest lists (their
    manifest paths remembered in `LISTED`) and manifests."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def _input(self, location: str) -> InputFile:
        return _Bytes(location, self._store.read(location))

    def manifests(self, field: str, manifest_list: str) -> list[ManifestFile]:
        def parse() -> list[ManifestFile]:
            return list(read_manifest_list(self._input(manifest_list)))

        manifests = _read("manifest list", field, manifest_list, parse)
        LISTED.put(self._store, manifest_list, frozenset(m.manifest_path for m in manifests))
        return manifests

    def manifest_paths(self, field: str, manifest_list: str) -> frozenset[str]:
        listed = LISTED.get(self._store, manifest_list)
        if listed is None:
            listed = frozenset(m.manifest_path for m in self.manifests(field, manifest_list))
        return listed

    def entries(self, field: str, manifest: ManifestFile) -> list[ManifestEntry]:
        def parse() -> list[ManifestEntry]:
            return list(read_manifest_entries(self._input(manifest.manifest_path)))

        return _read("manifest", field, manifest.manifest_path, parse)


def check_snapshot_files(
    store: ObjectStore, new: NewSnapshots, checked: set[tuple[int, str]]
) -> None:
    """Read each new snapshot's manifest list and the manifests it adds: refuse a missing or
    unreadable list, a manifest it adds outside the location, a delete file outside the
    location, and a manifest outside that its parent did not already list. `checked` holds
    the snapshots already read by this commit (a retry does not read them again).

    Only what the snapshot adds is read and checked path by path; a manifest its parent
    listed too was checked when the parent was committed (or is history from before this
    rule, which the commit may carry on)."""
    files = _Files(store)
    location = Location(new.location)
    for snapshot in new.snapshots:
        snapshot_id, manifest_list = snapshot["snapshot-id"], snapshot["manifest-list"]
        key = (snapshot_id, manifest_list)
        if key in checked:
            continue
        field = _snapshot_field(snapshot_id)
        manifests = files.manifests(field, manifest_list)
        parent = _parent_list(new, snapshot)
        inherited: frozenset[str] | None = frozenset()  # None: the parent's list is unread
        if parent is not None:
            inherited = LISTED.get(store, parent)
        for manifest in manifests:
            path = manifest.manifest_path
            if manifest.added_snapshot_id != snapshot_id:
                if inherited is not None and path in inherited:
                    continue
                if location.contains(path):
                    continue
                if inherited is None:
                    assert parent is not None
                    parent_field = _snapshot_field(snapshot["parent-snapshot-id"])
                    inherited = files.manifest_paths(parent_field, parent)
                if path not in inherited:
                    raise BadRequest(
                        f"Invalid {field}: manifest {path!r} lies outside the table location "
                        f"{new.location} and is not in the parent snapshot's manifest list"
                    )
                continue
            if not location.contains(path):
                raise BadRequest(
                    f"Invalid {field}: manifest {path!r} must lie inside the table location "
                    f"{new.location}"
                )
            for entry in files.entries(field, manifest):
                data_file = entry.data_file
                if (
                    entry.status == ManifestEntryStatus.DELETED
                    or data_file.content == DataFileContent.DATA
                ):
                    continue
                if not location.contains(data_file.file_path):
                    raise BadRequest(
                        f"Invalid {field}: manifest {path!r} names the delete file "
                        f"{data_file.file_path!r}, which must lie inside the table location "
                        f"{new.location}"
                    )
        checked.add(key)


def _parent_list(new: NewSnapshots, snapshot: Mapping[str, Any]) -> str | None:
    """The manifest list of `snapshot`'s parent, when the new metadata holds the parent."""
    parent_id = snapshot.get("parent-snapshot-id")
    parent = new.parents.get(parent_id) if parent_id is not None else None
    return parent["manifest-list"] if parent is not None else None
