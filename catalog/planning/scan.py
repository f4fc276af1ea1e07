"""One scan's planning, with pyiceberg's own evaluators over cached manifests.

Pruning is `pyiceberg.table.ManifestGroupPlanner`'s: the manifest evaluator on partition
summaries, the partition evaluator on each spec's own inclusive projection (so partition
evolution prunes every spec correctly), and the inclusive metrics evaluator on column bounds.
Position deletes and deletion vectors are matched by pyiceberg's `DeleteFileIndex`; equality
deletes (which pyiceberg does not plan) by the spec's rule here: a higher data sequence number,
and the same partition, or any partition when the delete's spec is unpartitioned.

A page's manifests are read in parallel on the process's bounded read pool (as PyIceberg reads
them in its own threads): a cold read is mostly waiting on the object store. A request still
holds at most its one page of manifests, so memory stays bounded by the page and the cache.
A plan answered with plan tasks reads its manifests ahead on the same pool (`read_ahead`),
into the cache only, so that the client's fetchScanTasks find them read or being read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from pyiceberg.expressions import BooleanExpression
from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    INITIAL_SEQUENCE_NUMBER,
    DataFile,
    DataFileContent,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    read_manifest_list,
)
from pyiceberg.table import ManifestGroupPlanner
from pyiceberg.table.delete_file_index import DeleteFileIndex
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot

from catalog.planning.cache import DECODED_PER_ENCODED_BYTE, ManifestCache


class Cancelled(Exception):
    """The plan was cancelled while this page was being planned."""


@dataclass
class PlannedFile:
    data_file: DataFile
    deletes: list[DataFile] = field(default_factory=list)
    manifest: str = ""  # the data manifest and the entry's position in it (once decoded):
    position: int = -1  # what its rendered JSON is cached under


class ScanPlanner:
    """Plans one scan of one table (a snapshot, or the appends between two snapshots)."""

    def __init__(
        self,
        metadata: TableMetadata,
        io: FileIO,
        cache: ManifestCache,
        row_filter: BooleanExpression,
        case_sensitive: bool,
        readers: Executor | None = None,
    ) -> None:
        self._metadata = metadata
        self._io = io
        self._cache = cache
        self._readers = readers
        self._group = ManifestGroupPlanner(metadata, io, row_filter, case_sensitive)
        self._manifest_evaluators: dict[int, Callable[[ManifestFile], bool]] = {}
        self._partition_evaluators: dict[int, Callable[[DataFile], bool]] = {}
        self._metrics_evaluator = self._group._build_metrics_evaluator()

    def manifests(self, snapshot: Snapshot) -> Sequence[ManifestFile]:
        path = snapshot.manifest_list
        return self._cache.get(
            path, 64 * 1024, lambda: tuple(read_manifest_list(self._io.new_input(path)))
        )

    def data_manifests(
        self, snapshot: Snapshot, added_by: frozenset[int] | None = None
    ) -> list[ManifestFile]:
        """The snapshot's data manifests whose partition summaries may match the filter (and,
        for an incremental scan, that were written by one of the `added_by` snapshots)."""
        return [
            manifest
            for manifest in self.manifests(snapshot)
            if manifest.content == ManifestContent.DATA
            and (added_by is None or manifest.added_snapshot_id in added_by)
            and self._manifest_matches(manifest)
        ]

    def delete_manifests(self, snapshot: Snapshot) -> list[ManifestFile]:
        return [
            manifest
            for manifest in self.manifests(snapshot)
            if manifest.content == ManifestContent.DELETES and self._manifest_matches(manifest)
        ]

    def plan(
        self,
        data_manifests: Iterable[ManifestFile],
        delete_manifests: Iterable[ManifestFile],
        added_by: frozenset[int] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[PlannedFile]:
        data_manifests, delete_manifests = list(data_manifests), list(delete_manifests)
        read = self._read([*data_manifests, *delete_manifests], cancelled)
        data_entries: list[tuple[str, int, ManifestEntry]] = []
        for manifest, entries in zip(data_manifests, read, strict=False):
            for position, entry in entries:
                if added_by is not None and (
                    entry.status != ManifestEntryStatus.ADDED or entry.snapshot_id not in added_by
                ):
                    continue
                data_entries.append((manifest.manifest_path, position, entry))
        positions = DeleteFileIndex()
        equalities: list[ManifestEntry] = []
        for entries in read[len(data_manifests) :]:
            for _, entry in entries:
                if entry.data_file.content == DataFileContent.EQUALITY_DELETES:
                    equalities.append(entry)
                else:
                    positions.add_delete_file(entry, partition_key=entry.data_file.partition)
        planned = []
        for path, position, entry in data_entries:
            sequence = entry.sequence_number or INITIAL_SEQUENCE_NUMBER
            data_file = entry.data_file
            deletes = list(positions.for_data_file(sequence, data_file, data_file.partition))
            deletes.extend(
                delete.data_file
                for delete in equalities
                if self._equality_delete_applies(delete, sequence, data_file)
            )
            planned.append(PlannedFile(data_file, deletes, path, position))
        return planned

    def read_ahead(self, manifests: Sequence[ManifestFile], cancelled: Callable[[], bool]) -> None:
        """Starts reading `manifests` into the cache on the pool, unless they would fill more
        than half of it (then each page reads its own when fetched). Errors are left for the
        page that reads the manifest to report."""
        if self._readers is None:
            return
        cost = sum(max(1, m.manifest_length) * DECODED_PER_ENCODED_BYTE for m in manifests)
        if cost > self._cache.max_bytes // 2:
            return

        def read(manifest: ManifestFile) -> None:
            if cancelled() or self._cache.cached(manifest.manifest_path):
                return
            with contextlib.suppress(Exception):  # the page that needs it reads it again
                self._entries(manifest)

        for manifest in manifests:
            self._readers.submit(read, manifest)

    def _read(
        self, manifests: list[ManifestFile], cancelled: Callable[[], bool]
    ) -> list[list[tuple[int, ManifestEntry]]]:
        """Each manifest's matching entries, in order; read on the pool when there are several.
        A cancelled plan stops before each manifest not yet started."""

        def read(manifest: ManifestFile) -> list[tuple[int, ManifestEntry]]:
            if cancelled():
                raise Cancelled
            return self._matching_entries(manifest)

        if self._readers is None or len(manifests) < 2:
            return [read(manifest) for manifest in manifests]
        futures: list[Future[list[tuple[int, ManifestEntry]]]] = [
            self._readers.submit(read, manifest) for manifest in manifests
        ]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()  # after an error: the manifests not yet started are skipped

    def _equality_delete_applies(
        self, delete: ManifestEntry, data_sequence: int, data_file: DataFile
    ) -> bool:
        if (delete.sequence_number or INITIAL_SEQUENCE_NUMBER) <= data_sequence:
            return False
        spec = self._metadata.specs()[delete.data_file.spec_id]
        if spec.is_unpartitioned():
            return True
        return (
            delete.data_file.spec_id == data_file.spec_id
            and delete.data_file.partition == data_file.partition
        )

    def _entries(self, manifest: ManifestFile) -> Sequence[ManifestEntry]:
        return self._cache.get(
            manifest.manifest_path,
            manifest.manifest_length,
            lambda: manifest.fetch_manifest_entry(self._io, discard_deleted=True),
        )

    def _matching_entries(self, manifest: ManifestFile) -> list[tuple[int, ManifestEntry]]:
        entries = self._entries(manifest)
        spec_id = manifest.partition_spec_id
        evaluator = self._partition_evaluators.get(spec_id)
        if evaluator is None:
            evaluator = self._group._build_partition_evaluator(spec_id)
            self._partition_evaluators[spec_id] = evaluator
        return [
            (position, entry)
            for position, entry in enumerate(entries)
            if evaluator(entry.data_file) and self._metrics_evaluator(entry.data_file)
        ]

    def _manifest_matches(self, manifest: ManifestFile) -> bool:
        spec_id = manifest.partition_spec_id
        evaluator = self._manifest_evaluators.get(spec_id)
        if evaluator is None:
            evaluator = self._group._build_manifest_evaluator(spec_id)
            self._manifest_evaluators[spec_id] = evaluator
        return evaluator(manifest)
