"""What a maintenance job is, what it is told, and what it reports.

The engine (`catalog.maintenance.engine.run_job`) does one job on one table; the control plane
decides when, records the outcome, and never needs to know how the work is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

MIB = 1024 * 1024


class JobKind(StrEnum):
    COMPACT = "compact"
    EXPIRE = "expire"
    ORPHANS = "orphans"


@dataclass(frozen=True)
class MaintenancePolicy:
    """The effective policy for one table (warehouse defaults overlaid by table settings).

    Defaults follow R2 Data Catalog: compaction to 128 MiB files; a snapshot expires only when
    it is both older than `expire_older_than` and not among the `retain_last` newest.
    """

    compaction_enabled: bool = True
    target_file_size_bytes: int = 128 * MIB
    small_file_threshold_bytes: int = 96 * MIB
    expiration_enabled: bool = True
    expire_older_than: timedelta = timedelta(days=7)
    retain_last: int = 10
    orphans_enabled: bool = True
    orphan_grace: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class TableRef:
    warehouse: str
    namespace: tuple[str, ...]
    name: str


# Why a file was left alone (`SkippedFile.reason`).
OUTSIDE_LOCATION = "outside the table location: neither read nor deleted"
DELETES_OUTSIDE = "not rewritten: a delete file that applies to it is outside the table location"
REFERENCES_UNKNOWN = (
    "not deleted: the table refers to files outside its location that were not read, "
    "so whether it still needs this file is not known"
)


@dataclass(frozen=True)
class SkippedFile:
    """A file a job did not touch although its plan named it, and why (see the reasons above)."""

    path: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class JobOutcome:
    """Figures of one run; `details` carries job-specific extras (e.g. the paths deleted);
    `skipped_files` the files left alone because they lie outside the table's location."""

    files_before: int = 0
    files_after: int = 0
    bytes_rewritten: int = 0
    files_deleted: int = 0
    snapshots_expired: int = 0
    committed_snapshot_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    skipped_files: list[SkippedFile] = field(default_factory=list)


class Progress:
    """Reports how far a job has got; the CLI renders it as a progress bar."""

    def __init__(self, report: Callable[[str, int, int], None] | None = None) -> None:
        self._report = report

    def __call__(self, step: str, done: int, total: int) -> None:
        if self._report is not None:
            self._report(step, done, total)
