"""The maintenance scheduler: a background thread that runs due jobs, one table at a time.

Every interval it first purges or forgets what the trash holds past its retention
(`catalog.service.trash`), then walks every table of every warehouse, decides which jobs are
due from the table's metadata, its effective policy and its run records, and runs them under
the table's lease. Several catalog processes on one database each run a scheduler; the lease
makes sure only one of them works on a given table at a time, and a crashed holder's lease
expires.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from catalog.exceptions import CatalogError
from catalog.maintenance.control import MaintenanceBusy, MaintenanceService, TableTarget
from catalog.maintenance.expiration import plan_expiration
from catalog.maintenance.jobs import JobKind, TableRef
from catalog.maintenance.policy import EffectivePolicy
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.service.trash import TrashService
from catalog.store.records import MaintenanceRunRecord

log = logging.getLogger("icefloe.maintenance.scheduler")

ORDER = (JobKind.COMPACT, JobKind.EXPIRE, JobKind.ORPHANS)


class Scheduler:
    def __init__(self, service: MaintenanceService, interval: timedelta) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Tables found not to need compaction, by their current snapshot: no rescan until a
        # commit changes the snapshot.
        self._compaction_checked: dict[str, int | None] = {}

    # lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """The first round starts one interval after start, so a fleet restarting at once
        does not scan every table at the same moment."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)
        self._thread.start()
        log.info("event=maintenance_scheduler_started interval_s=%s", self.interval.total_seconds())

    def stop(self, timeout: float = 30) -> None:
        """Stop after the job that is running now (its lease is released)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("event=maintenance_scheduler_still_running detail=job_in_progress")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.tick()
            except Exception:  # the database was away: try again next round
                log.exception("event=maintenance_tick_failed")

    # one round --------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> list[MaintenanceRunRecord]:
        try:  # the trash first: what it purges needs no compaction
            TrashService(self.service.context).expire(now)
        except Exception:
            log.exception("event=trash_pass_failed")
        runs: list[MaintenanceRunRecord] = []
        for ref in self.service.tables():
            if self._stop.is_set():
                break
            try:
                runs.extend(self._maintain(ref, now or datetime.now(UTC)))
            except MaintenanceBusy:
                log.info("event=maintenance_table_busy table=%s", _name(ref))
            except CatalogError as error:  # dropped or renamed during the round
                log.info("event=maintenance_table_skipped table=%s reason=%s", _name(ref), error)
            except Exception:  # unreadable metadata or storage: the other tables still run
                log.exception("event=maintenance_table_failed table=%s", _name(ref))
        return runs

    def _maintain(self, ref: TableRef, now: datetime) -> list[MaintenanceRunRecord]:
        target = self.service.target(ref)
        due = self.due_jobs(target, self.service.effective(target), now)
        if not due:
            return []
        runs = []
        with self.service.leased(target):
            for kind in due:
                if self._stop.is_set():
                    break
                # Re-read under the lease: another process may have just done this job.
                target = self.service.target(ref)
                policy = self.service.effective(target)
                if not self.is_due(kind, target, policy, now):
                    continue
                run = self.service.run_leased(
                    target, kind, dry_run=False, trigger="scheduled", policy=policy
                )
                runs.append(run)
        return runs

    # what is due ------------------------------------------------------------------------
    def due_jobs(
        self, target: TableTarget, policy: EffectivePolicy, now: datetime
    ) -> list[JobKind]:
        return [kind for kind in ORDER if self.is_due(kind, target, policy, now)]

    def is_due(
        self, kind: JobKind, target: TableTarget, policy: EffectivePolicy, now: datetime
    ) -> bool:
        if kind is JobKind.COMPACT:
            return policy.job.compaction_enabled and self._compaction_due(target, policy)
        if kind is JobKind.EXPIRE:
            return policy.job.expiration_enabled and bool(
                plan_expiration(target.metadata(), policy.job, now).expire
            )
        if not policy.job.orphans_enabled:
            return False
        last = self.service.last_run(target.ref, JobKind.ORPHANS)
        return last is None or last.started_at <= now - policy.orphans_interval

    def _compaction_due(self, target: TableTarget, policy: EffectivePolicy) -> bool:
        """Due when the current snapshot holds at least `min_small_files` files below the
        small-file threshold. The snapshot summary rules most tables out without a read."""
        metadata = target.metadata()
        snapshot = metadata.current_snapshot()
        if snapshot is None:
            return False
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        total = int(summary.get("total-data-files", policy.min_small_files) or 0)
        if total < policy.min_small_files:
            return False
        key = target.record.id
        if (
            key in self._compaction_checked
            and self._compaction_checked[key] == snapshot.snapshot_id
        ):
            return False
        table = ServiceCatalog(self.service.context, target.ref.warehouse).load_table(
            (*target.ref.namespace, target.ref.name)
        )
        # Compaction pulls in pyiceberg's pyarrow I/O: loaded when first needed, not at start.
        from catalog.maintenance.compaction import readable_tasks, unreadable_metadata

        threshold = policy.job.small_file_threshold_bytes
        # Only what compaction may read counts: files outside the table's location never do,
        # and metadata outside it (not read at all) makes the table not due.
        small = 0
        if not unreadable_metadata(table):
            readable, _ = readable_tasks(table, table.scan().plan_files())
            small = sum(1 for task in readable if task.file.file_size_in_bytes < threshold)
        if small >= policy.min_small_files:
            self._compaction_checked.pop(key, None)
            return True
        self._compaction_checked[key] = snapshot.snapshot_id
        return False


def _name(ref: TableRef) -> str:
    return f"{ref.warehouse}/{'.'.join((*ref.namespace, ref.name))}"
