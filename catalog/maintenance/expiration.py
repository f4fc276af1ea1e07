"""Snapshot expiration, as R2 Data Catalog words it: a snapshot expires only when it is older
than `expire_older_than` AND not among the `retain_last` newest.

What is protected, kept simple on purpose: the head snapshot of every branch and tag, and the
`retain_last` newest snapshots of main's ancestry. Any other snapshot older than the cut-off
expires (older snapshots of other branches' histories included).

The removal is one commit through the compare-and-swap path, asserting that no ref moved since
the plan; only after it succeeded are the files deleted that no retained snapshot needs, and
only those inside the table's location (through its `ConfinedFileIO`'s store). A file outside
is reported as skipped, never read or deleted; when a retained snapshot needs a manifest list
or manifest outside, what it needs is unknown and nothing is deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import ancestors_of
from pyiceberg.table.update import (
    AssertRefSnapshotId,
    AssertTableUUID,
    RemoveSnapshotsUpdate,
    TableRequirement,
)

from catalog.maintenance.jobs import (
    OUTSIDE_LOCATION,
    REFERENCES_UNKNOWN,
    JobOutcome,
    MaintenancePolicy,
    Progress,
    SkippedFile,
)
from catalog.maintenance.reachability import Reachability, statistics_files
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.maintenance.table_io import TableStorage, table_storage

log = logging.getLogger("icefloe.maintenance.expire")

COMMIT_ATTEMPTS = 5


@dataclass(frozen=True)
class ExpirationPlan:
    expire: list[int]
    keep: list[int]


def plan_expiration(
    metadata: TableMetadata, policy: MaintenancePolicy, now: datetime
) -> ExpirationPlan:
    cutoff_ms = int((now - policy.expire_older_than).timestamp() * 1000)
    protected = {ref.snapshot_id for ref in metadata.refs.values()}
    current = metadata.current_snapshot()
    if current is not None and policy.retain_last > 0:
        newest = ancestors_of(current, metadata)
        for index, snapshot in enumerate(newest):
            if index >= policy.retain_last:
                break
            protected.add(snapshot.snapshot_id)
    expire = {
        s.snapshot_id
        for s in metadata.snapshots
        if s.snapshot_id not in protected and s.timestamp_ms < cutoff_ms
    }
    keep = [s.snapshot_id for s in metadata.snapshots if s.snapshot_id not in expire]
    return ExpirationPlan(sorted(expire), sorted(keep))


@dataclass(frozen=True)
class Unreachable:
    """Files the expired snapshots needed that nothing retained needs: `deletable` inside the
    table's location, `skipped` (with why) the rest."""

    deletable: list[str]
    skipped: list[SkippedFile]


def _unreachable_after(
    reach: Reachability,
    files: TableStorage,
    before: TableMetadata,
    after: TableMetadata,
    expired: list[int],
) -> Unreachable:
    gone_unread: set[str] = set()
    kept_unread: set[str] = set()
    gone = reach.snapshots_files(before, expired, gone_unread)
    kept = reach.snapshots_files(after, [s.snapshot_id for s in after.snapshots], kept_unread)
    kept |= statistics_files(after, None)
    doomed = gone - kept
    outside = sorted(p for p in doomed | gone_unread | kept_unread if not files.contains(p))
    skipped = [SkippedFile(p, OUTSIDE_LOCATION) for p in outside]
    inside = sorted(p for p in doomed if files.contains(p))
    if kept_unread:
        skipped += [SkippedFile(p, REFERENCES_UNKNOWN) for p in inside]
        inside = []
    return Unreachable(inside, skipped)


def expire_snapshots(
    catalog: ServiceCatalog,
    identifier: tuple[str, ...],
    policy: MaintenancePolicy,
    now: datetime,
    *,
    dry_run: bool,
    progress: Progress,
) -> JobOutcome:
    for attempt in range(COMMIT_ATTEMPTS):
        table = catalog.load_table(identifier)
        files = table_storage(table)
        before = table.metadata
        plan = plan_expiration(before, policy, now)
        progress("expire", 0, 1)
        if not plan.expire:
            progress("expire", 1, 1)
            return JobOutcome(details={"expired_snapshot_ids": [], "deleted": []})
        reach = Reachability(table.io, files.contains)
        if dry_run:
            after = before.model_copy(
                update={"snapshots": [s for s in before.snapshots if s.snapshot_id in plan.keep]}
            )
            doomed = _unreachable_after(reach, files, before, after, plan.expire)
            return JobOutcome(
                snapshots_expired=len(plan.expire),
                details={
                    "dry_run": True,
                    "expired_snapshot_ids": plan.expire,
                    "would_delete": doomed.deletable,
                    "deleted": [],
                },
                skipped_files=doomed.skipped,
            )
        try:
            after = _commit_removal(catalog, table, plan.expire)
        except CommitFailedException as error:
            log.info("event=expire_retry attempt=%d reason=%s", attempt + 1, error)
            continue
        doomed = _unreachable_after(reach, files, before, after, plan.expire)
        for location in doomed.deletable:
            files.store.delete(location)
        progress("expire", 1, 1)
        log.info(
            "event=snapshots_expired table=%s snapshots=%d files=%d skipped=%d",
            ".".join(identifier),
            len(plan.expire),
            len(doomed.deletable),
            len(doomed.skipped),
        )
        return JobOutcome(
            snapshots_expired=len(plan.expire),
            files_deleted=len(doomed.deletable),
            details={"expired_snapshot_ids": plan.expire, "deleted": doomed.deletable},
            skipped_files=doomed.skipped,
        )
    raise CommitFailedException(
        f"Snapshot expiration lost the race {COMMIT_ATTEMPTS} times; try again later"
    )


def _commit_removal(catalog: ServiceCatalog, table: Table, expire: list[int]) -> TableMetadata:
    """One commit that holds only if no ref moved since the plan (a ref may not come to
    point at a snapshot being removed)."""
    metadata = table.metadata
    requirements: list[TableRequirement] = [AssertTableUUID(uuid=metadata.table_uuid)]
    requirements += [
        AssertRefSnapshotId(ref=name, snapshot_id=ref.snapshot_id)
        for name, ref in metadata.refs.items()
    ]
    response = catalog.commit_table(
        table, tuple(requirements), (RemoveSnapshotsUpdate(snapshot_ids=expire),)
    )
    return response.metadata
