"""Compaction: rewrite the small data files of main's current snapshot into files of about the
target size, in ONE `replace` snapshot.

Files are grouped by partition (spec id + partition tuple); within a group, files smaller than
`small_file_threshold_bytes` (and any file that deletes apply to) are bin-packed by size into
bins of at most `target_file_size_bytes`. Each bin is read with pyiceberg's `ArrowScan` (which
applies position and equality deletes), sorted by the table's sort order where it has one, and
written with pyiceberg's own writer, one bin at a time: memory holds one bin of rows at most.

Only files inside the table's location are read or written (the table's `ConfinedFileIO`). A
data file outside it, or one a delete file outside it applies to, is left out of the plan and
reported as skipped; when main's manifest list or one of its manifests is outside, the table
cannot be planned (nor a rewrite committed, which reads every manifest): nothing is done and
the run record says which file.

Concurrency: the commit asserts main's head, like any client's. When a client committed first,
pyiceberg refreshes, checks that every replaced file is still live and has no new deletes, and
re-commits the same rewritten files against the new head (no rewrite). When a replaced file is
gone, the new files are deleted and the compaction is planned again, a bounded number of times.
A concurrent append is never lost: the new snapshot keeps every manifest it did not touch.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table, TableProperties
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.sorting import NullOrder, SortDirection
from pyiceberg.table.update.snapshot import _OverwriteFiles
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import EMPTY_DICT, Record

from catalog.maintenance.jobs import (
    DELETES_OUTSIDE,
    OUTSIDE_LOCATION,
    JobOutcome,
    MaintenancePolicy,
    Progress,
    SkippedFile,
)
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.maintenance.table_io import table_storage

log = logging.getLogger("icefloe.maintenance.compact")

PLAN_ATTEMPTS = 4
# pyiceberg's own commit retries (refresh, validate, re-commit the same files); raised from
# its default of 4 because compaction competes with every appending client.
MIN_COMMIT_RETRIES = 16
SUMMARY_PROPERTY = "icefloe.maintenance"


@dataclass
class Bin:
    spec_id: int
    partition: Record
    tasks: list[FileScanTask] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(task.file.file_size_in_bytes for task in self.tasks)

    def describe(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id,
            "partition": repr(self.partition),
            "files": len(self.tasks),
            "bytes": self.size,
            "delete_files": len({d.file_path for t in self.tasks for d in t.delete_files}),
        }


def plan_bins(tasks: Iterable[FileScanTask], policy: MaintenancePolicy) -> list[Bin]:
    groups: dict[tuple[int, Record], list[FileScanTask]] = {}
    for task in tasks:
        groups.setdefault((task.file.spec_id, task.file.partition), []).append(task)
    bins: list[Bin] = []
    for (spec_id, partition), members in groups.items():
        candidates = [
            t
            for t in members
            if t.file.file_size_in_bytes < policy.small_file_threshold_bytes or t.delete_files
        ]
        # First-fit decreasing: few, full bins.
        candidates.sort(key=lambda t: t.file.file_size_in_bytes, reverse=True)
        packed: list[Bin] = []
        for task in candidates:
            size = task.file.file_size_in_bytes
            target = next(
                (b for b in packed if b.size + size <= policy.target_file_size_bytes), None
            )
            if target is None:
                target = Bin(spec_id, partition)
                packed.append(target)
            target.tasks.append(task)
        # A bin of one file is worth rewriting only to apply its deletes.
        bins += [b for b in packed if len(b.tasks) > 1 or b.tasks[0].delete_files]
    return bins


def _sort_keys(metadata: TableMetadata) -> tuple[list[tuple[str, str]], str]:
    """The table's sort order as pyarrow sort keys (identity transforms only)."""
    order = metadata.sort_order_by_id(metadata.default_sort_order_id)
    if order is None or order.is_unsorted:
        return [], "at_end"
    schema = metadata.schema()
    keys: list[tuple[str, str]] = []
    for sort_field in order.fields:
        if not isinstance(sort_field.transform, IdentityTransform):
            break  # a derived key (bucket, day, ...) ends the usable prefix
        direction = "ascending" if sort_field.direction == SortDirection.ASC else "descending"
        keys.append((schema.find_column_name(sort_field.source_id) or "", direction))
    nulls = "at_start" if order.fields[0].null_order == NullOrder.NULLS_FIRST else "at_end"
    return [k for k in keys if k[0]], nulls


def _rewrite_bin(table: Table, bin_: Bin, write_uuid: uuid.UUID, counter: Any) -> list[DataFile]:
    metadata = table.metadata
    rows = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue()).to_table(bin_.tasks)
    keys, nulls = _sort_keys(metadata)
    if keys and rows.num_rows:
        rows = rows.take(pc.sort_indices(rows, sort_keys=keys, null_placement=nulls))
    if rows.num_rows == 0:
        return []
    # One output file per partition for the bin: the bin is already about the target size.
    properties = {
        **metadata.properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES: str(rows.nbytes + 1),
    }
    write_metadata = metadata.model_copy(update={"properties": properties})
    return list(_dataframe_to_data_files(write_metadata, rows, table.io, write_uuid, counter))


class _RewriteFiles(_OverwriteFiles):
    """pyiceberg's overwrite, recorded as `replace` (the rows did not change) and validated as
    a rewrite: only the replaced files must still be live with no new deletes; concurrent
    appends are no conflict."""

    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        summary = super()._summary(snapshot_properties)
        return Summary(Operation.REPLACE, **summary.additional_properties)

    def _validate_concurrency(self) -> None:
        from pyiceberg.table.update.validate import (
            _validate_data_files_exist,
            _validate_no_new_deletes_for_data_files,
        )

        window = self._commit_window
        if window is None or window.is_empty() or window.head is None:
            return
        table = self._transaction._table
        _validate_data_files_exist(table, window.head, self._deleted_data_files, window.base)
        _validate_no_new_deletes_for_data_files(
            table, window.head, None, self._deleted_data_files, window.base
        )


def _with_commit_retries(table: Table) -> None:
    """Raise the floor of pyiceberg's commit retries for this run (in memory only)."""
    properties = dict(table.metadata.properties)
    retries = int(properties.get(TableProperties.COMMIT_NUM_RETRIES, "0") or 0)
    properties[TableProperties.COMMIT_NUM_RETRIES] = str(max(retries, MIN_COMMIT_RETRIES))
    properties.setdefault(TableProperties.COMMIT_MIN_RETRY_WAIT_MS, "20")
    properties.setdefault(TableProperties.COMMIT_MAX_RETRY_WAIT_MS, "1000")
    table.metadata = table.metadata.model_copy(update={"properties": properties})


def _commit(table: Table, old: list[DataFile], new: list[DataFile]) -> int:
    _with_commit_retries(table)
    transaction = table.transaction()
    producer = _RewriteFiles(
        operation=Operation.OVERWRITE,
        transaction=transaction,
        io=table.io,
        snapshot_properties={SUMMARY_PROPERTY: "compaction"},
    )
    for data_file in old:
        producer.delete_data_file(data_file)
    for data_file in new:
        producer.append_data_file(data_file)
    producer.commit()
    transaction.commit_transaction()
    return producer.snapshot_id


def unreadable_metadata(table: Table) -> list[str]:
    """The manifest list or manifests of main's current snapshot outside the table's location
    (none of them is read): with any of these the table cannot be compacted."""
    files = table_storage(table)
    snapshot = table.metadata.current_snapshot()
    if snapshot is None:
        return []
    if not files.contains(snapshot.manifest_list):
        return [snapshot.manifest_list]
    return [
        m.manifest_path for m in snapshot.manifests(table.io) if not files.contains(m.manifest_path)
    ]


def readable_tasks(
    table: Table, tasks: Iterable[FileScanTask]
) -> tuple[list[FileScanTask], list[SkippedFile]]:
    """The tasks whose data file and delete files all lie inside the table's location, and
    the files of the others, each once, with why they are left out."""
    files = table_storage(table)
    readable: list[FileScanTask] = []
    skipped: dict[str, str] = {}
    for task in tasks:
        outside = [d.file_path for d in task.delete_files if not files.contains(d.file_path)]
        if files.contains(task.file.file_path) and not outside:
            readable.append(task)
            continue
        for path in outside:
            skipped[path] = OUTSIDE_LOCATION
        if not files.contains(task.file.file_path):
            skipped[task.file.file_path] = OUTSIDE_LOCATION
        else:
            skipped.setdefault(task.file.file_path, DELETES_OUTSIDE)
    return readable, [SkippedFile(p, r) for p, r in sorted(skipped.items())]


def compact(
    catalog: ServiceCatalog,
    identifier: tuple[str, ...],
    policy: MaintenancePolicy,
    *,
    dry_run: bool,
    progress: Progress,
) -> JobOutcome:
    for attempt in range(PLAN_ATTEMPTS):
        table = catalog.load_table(identifier)
        if table.metadata.current_snapshot() is None:
            return JobOutcome(details={"bins": []})
        unreadable = unreadable_metadata(table)
        if unreadable:
            log.warning(
                "event=compaction_refused table=%s reason=metadata_outside_location files=%s",
                ".".join(identifier),
                unreadable,
            )
            return JobOutcome(
                details={"bins": [], "dry_run": dry_run},
                skipped_files=[SkippedFile(p, OUTSIDE_LOCATION) for p in unreadable],
            )
        tasks = list(table.scan().plan_files())
        files_before = len(tasks)
        readable, skipped = readable_tasks(table, tasks)
        bins = plan_bins(readable, policy)
        planned_on = table.metadata.current_snapshot_id
        details: dict[str, Any] = {
            "bins": [b.describe() for b in bins],
            "planned_snapshot_id": planned_on,
            "plan_attempts": attempt + 1,
        }
        rewritten = sum(len(b.tasks) for b in bins)
        if dry_run or not bins:
            details["dry_run"] = dry_run
            details["estimated_files_after"] = files_before - rewritten + len(bins)
            progress("compact", 0, len(bins))
            return JobOutcome(
                files_before=files_before,
                files_after=files_before,
                details=details,
                skipped_files=skipped,
            )
        write_uuid = uuid.uuid4()
        counter = itertools.count(0)
        new_files: list[DataFile] = []
        progress("compact", 0, len(bins))
        try:
            for done, bin_ in enumerate(bins, start=1):
                new_files += _rewrite_bin(table, bin_, write_uuid, counter)
                progress("compact", done, len(bins))
        except BaseException:
            _delete_files(table, new_files)
            raise
        old_files = [task.file for b in bins for task in b.tasks]
        try:
            snapshot_id = _commit(table, old_files, new_files)
        except (CommitFailedException, ValidationException) as error:
            # Both mean nothing was committed. Any other error leaves the outcome unknown, so
            # the new files stay (orphan removal takes them if they are not referenced).
            _delete_files(table, new_files)
            log.info("event=compaction_replan attempt=%d reason=%s", attempt + 1, error)
            continue
        table = catalog.load_table(identifier)
        files_after = len(list(table.scan().plan_files()))
        log.info(
            "event=compacted table=%s files_before=%d files_after=%d bins=%d",
            ".".join(identifier),
            files_before,
            files_after,
            len(bins),
        )
        details["files_written"] = len(new_files)
        details["files_rewritten"] = rewritten
        return JobOutcome(
            files_before=files_before,
            files_after=files_after,
            bytes_rewritten=sum(b.size for b in bins),
            committed_snapshot_id=snapshot_id,
            details=details,
            skipped_files=skipped,
        )
    raise CommitFailedException(
        f"Compaction lost the race {PLAN_ATTEMPTS} times (the files it rewrote kept changing)"
    )


def _delete_files(table: Table, files: list[DataFile]) -> None:
    for data_file in files:
        try:
            table.io.delete(data_file.file_path)
        except Exception as error:  # an orphan is harmless; orphan removal takes it later
            log.warning("event=orphan_left location=%s error=%s", data_file.file_path, error)
