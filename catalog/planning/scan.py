"""One scan's planning, with pyiceberg's own evaluators over cached manifests.

Pruning is `pyiceberg.table.ManifestGroupPlanner`'s: the manifest evaluator on partition
summaries, the partition evaluator on each spec's own inclusive projection (so partition
evolution prunes every spec correctly), and the inclusive metrics evaluator on column bounds.
Position deletes and deletion vectors are matched by pyiceberg's `DeleteFileIndex`; equality
deletes (which pyiceberg does not plan) by the spec's rule here: a higher data sequence number,
and the same partition, or any partition when the delete's spec is unpartitioned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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

from catalog.planning.cache import ManifestCache


class Cancelled(Exception):
    """The plan was cancelled while this page was being planned."""


@dataclass
class PlannedFile:
    data_file: DataFile
    deletes: list[DataFile] = field(default_factory=list)


class ScanPlanner:
    """Plans one scan of one table (a snapshot, or the appends between two snapshots)."""

    def __init__(
        self,
        metadata: TableMetadata,
        io: FileIO,
        cache: ManifestCache,
        row_filter: BooleanExpression,
        case_sensitive: bool,
    ) -> None:
        self._metadata = metadata
        self._io = io
        self._cache = cache
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
        data_entries: list[ManifestEntry] = []
        for manifest in data_manifests:
            if cancelled():
                raise Cancelled
            for entry in self._matching_entries(manifest):
                if added_by is not None and (
                    entry.status != ManifestEntryStatus.ADDED or entry.snapshot_id not in added_by
                ):
                    continue
                data_entries.append(entry)
        positions = DeleteFileIndex()
        equalities: list[ManifestEntry] = []
        for manifest in delete_manifests:
            if cancelled():
                raise Cancelled
            for entry in self._matching_entries(manifest):
                if entry.data_file.content == DataFileContent.EQUALITY_DELETES:
                    equalities.append(entry)
                else:
                    positions.add_delete_file(entry, partition_key=entry.data_file.partition)
        planned = []
        for entry in data_entries:
            sequence = entry.sequence_number or INITIAL_SEQUENCE_NUMBER
            data_file = entry.data_file
            deletes = list(positions.for_data_file(sequence, data_file, data_file.partition))
            deletes.extend(
                delete.data_file
                for delete in equalities
                if self._equality_delete_applies(delete, sequence, data_file)
            )
            planned.append(PlannedFile(data_file, deletes))
        return planned

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

    def _matching_entries(self, manifest: ManifestFile) -> list[ManifestEntry]:
        entries: Sequence[ManifestEntry] = self._cache.get(
            manifest.manifest_path,
            manifest.manifest_length,
            lambda: manifest.fetch_manifest_entry(self._io, discard_deleted=True),
        )
        spec_id = manifest.partition_spec_id
        evaluator = self._partition_evaluators.get(spec_id)
        if evaluator is None:
            evaluator = self._group._build_partition_evaluator(spec_id)
            self._partition_evaluators[spec_id] = evaluator
        return [
            entry
            for entry in entries
            if evaluator(entry.data_file) and self._metrics_evaluator(entry.data_file)
        ]

    def _manifest_matches(self, manifest: ManifestFile) -> bool:
        spec_id = manifest.partition_spec_id
        evaluator = self._manifest_evaluators.get(spec_id)
        if evaluator is None:
            evaluator = self._group._build_manifest_evaluator(spec_id)
            self._manifest_evaluators[spec_id] = evaluator
        return evaluator(manifest)
