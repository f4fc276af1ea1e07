"""The maintenance control plane: policies, leases, running a job and recording the run.

The admin API, the CLI and the scheduler all run jobs through `MaintenanceService.run`, so a
job always holds the table's lease (one row in `maintenance_leases`, shared by every catalog
process on the database) and always leaves a run record.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pyiceberg.table.metadata import TableMetadata

from catalog.exceptions import BadRequest, CatalogError, NoSuchTable, NotFound
from catalog.maintenance.jobs import JobKind, JobOutcome, Progress, TableRef
from catalog.maintenance.policy import (
    EffectivePolicy,
    check_stored,
    parse_settings,
    resolve,
)
from catalog.observability import metrics
from catalog.service.context import ServiceContext
from catalog.service.identifiers import dotted
from catalog.service.paging import decode_token, encode_token
from catalog.service.ports import CatalogTransaction
from catalog.service.table_metadata import parse_table_metadata
from catalog.store.records import MaintenanceRunRecord, ObjectRecord, WarehouseRecord

log = logging.getLogger("icefloe.maintenance")

Trigger = Literal["manual", "scheduled"]
DEFAULT_LEASE_TTL = timedelta(minutes=10)
_DETAIL_LIST_LIMIT = 100
MAX_RUN_ID = 2**31 - 1  # run ids are 32-bit integers in the database
SKIPPED_FILES = "skipped-files"  # in a run's details: [{"path": ..., "reason": ...}]
SKIPPED_COUNT = "files-skipped"


class MaintenanceBusy(CatalogError):
    """Another process (or thread) holds the table's maintenance lease."""

    status = 409
    wire_type = "MaintenanceInProgressException"


class NoSuchRun(NotFound):
    wire_type = "NoSuchMaintenanceRunException"


def new_holder_id() -> str:
    """Who holds a lease: readable in the lease table and in run records."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TableTarget:
    """A table as the control plane sees it: its reference, its row and its warehouse."""

    ref: TableRef
    warehouse: WarehouseRecord
    record: ObjectRecord

    @property
    def lease_key(self) -> str:
        return f"table:{self.record.id}"

    def metadata(self) -> TableMetadata:
        return parse_table_metadata(self.record.metadata_json)


class Lease:
    """Holds one lease row while a job runs, renewing it at a third of its lifetime.

    A process that dies stops renewing, so its lease expires and another process takes over;
    a process that loses its lease (paused longer than the lifetime) logs it.
    """

    def __init__(self, context: ServiceContext, key: str, holder: str, ttl: timedelta) -> None:
        self._context = context
        self.key = key
        self.holder = holder
        self._ttl = ttl
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _take(self) -> bool:
        now = utcnow()
        with self._context.store.write() as tx:
            return tx.take_lease(self.key, self.holder, now, now + self._ttl)

    def acquire(self) -> bool:
        if not self._take():
            return False
        self._renewer = threading.Thread(target=self._renew, name=f"lease-{self.key}", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self._ttl.total_seconds() / 3):
            try:
                if not self._take():
                    log.warning("event=maintenance_lease_lost key=%s", self.key)
                    return
            except Exception:  # a database hiccup: try again at the next interval
                log.exception("event=maintenance_lease_renewal_failed key=%s", self.key)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=30)
        with self._context.store.write() as tx:
            tx.release_lease(self.key, self.holder)


def _bounded(value: Any) -> Any:
    """Run details keep at most a sample of long lists (a big table deletes many files)."""
    if isinstance(value, dict):
        return {str(k): _bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        items = list(value)
        if len(items) > _DETAIL_LIST_LIMIT:
            return [_bounded(v) for v in items[:_DETAIL_LIST_LIMIT]] + [
                f"… {len(items) - _DETAIL_LIST_LIMIT} more"
            ]
        return [_bounded(v) for v in items]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _enabled(policy: EffectivePolicy, kind: JobKind) -> bool:
    return {
        JobKind.COMPACT: policy.job.compaction_enabled,
        JobKind.EXPIRE: policy.job.expiration_enabled,
        JobKind.ORPHANS: policy.job.orphans_enabled,
    }[kind]


def _count(run: MaintenanceRunRecord) -> None:
    metrics.MAINTENANCE_RUNS.labels(run.kind, run.outcome).inc()
    if run.dry_run or run.outcome != "succeeded":
        return
    rewritten = run.details.get("files_rewritten", 0)
    metrics.MAINTENANCE_FILES.labels(run.kind, "rewritten").inc(rewritten)
    metrics.MAINTENANCE_FILES.labels(run.kind, "deleted").inc(run.files_deleted)
    metrics.MAINTENANCE_BYTES.labels(run.kind).inc(run.bytes_rewritten)


def run_json(run: MaintenanceRunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "warehouse": run.warehouse,
        "namespace": list(run.namespace),
        "table": run.table,
        "kind": run.kind,
        "trigger": run.trigger,
        "dry-run": run.dry_run,
        "runner": run.runner,
        "started-at": run.started_at.isoformat(),
        "finished-at": run.finished_at.isoformat(),
        "duration-ms": int((run.finished_at - run.started_at).total_seconds() * 1000),
        "outcome": run.outcome,
        "error": run.error,
        "files-before": run.files_before,
        "files-after": run.files_after,
        "bytes-rewritten": run.bytes_rewritten,
        "files-deleted": run.files_deleted,
        "snapshots-expired": run.snapshots_expired,
        "files-skipped": run.details.get(SKIPPED_COUNT, 0),
        "skipped-files": run.details.get(SKIPPED_FILES, []),
        "details": run.details,
    }


def policy_json(policy: EffectivePolicy) -> dict[str, Any]:
    return {
        "effective": policy.settings,
        "sources": policy.sources,
        "ignored-properties": policy.ignored,
    }


class MaintenanceService:
    def __init__(
        self,
        context: ServiceContext,
        *,
        holder: str | None = None,
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    ) -> None:
        self.context = context
        self.holder = holder or new_holder_id()
        self.lease_ttl = lease_ttl

    # tables -----------------------------------------------------------------------------
    def _target(self, tx: CatalogTransaction, ref: TableRef) -> TableTarget:
        warehouse = self.context.warehouse(tx, ref.warehouse)
        record = tx.object(warehouse.id, ref.namespace, ref.name)
        if record is None or record.kind != "table":
            raise NoSuchTable(f"Table does not exist: {dotted((*ref.namespace, ref.name))}")
        return TableTarget(ref, warehouse, record)

    def target(self, ref: TableRef) -> TableTarget:
        with self.context.store.read() as tx:
            return self._target(tx, ref)

    def tables(self) -> list[TableRef]:
        """Every table of every warehouse."""
        with self.context.store.read() as tx:
            return [
                TableRef(warehouse.name, namespace, name)
                for warehouse in tx.list_warehouses()
                for _, namespace, name in tx.list_tables(warehouse.id)
            ]

    # policies ---------------------------------------------------------------------------
    def warehouse_policy(self, warehouse_name: str) -> dict[str, Any]:
        with self.context.store.read() as tx:
            warehouse = self.context.warehouse(tx, warehouse_name)
            stored = tx.maintenance_policy(warehouse.id, None)
        settings = stored.settings if stored else {}
        return {
            "warehouse": warehouse.name,
            "settings": settings,
            "updated-at": stored.updated_at.isoformat() if stored else None,
            **policy_json(resolve(settings, None, None)),
        }

    def set_warehouse_policy(self, warehouse_name: str, raw: dict[str, Any]) -> dict[str, Any]:
        settings = parse_settings(raw).explicit()
        check_stored(settings, None)
        with self.context.store.write() as tx:
            warehouse = self.context.warehouse(tx, warehouse_name)
            tx.set_maintenance_policy(warehouse.id, None, settings)
        return self.warehouse_policy(warehouse_name)

    def effective(self, target: TableTarget) -> EffectivePolicy:
        with self.context.store.read() as tx:
            warehouse = tx.maintenance_policy(target.warehouse.id, None)
            table = tx.maintenance_policy(target.warehouse.id, target.record.id)
        return resolve(
            warehouse.settings if warehouse else None,
            table.settings if table else None,
            dict(target.metadata().properties),
        )

    def table_policy(self, ref: TableRef) -> dict[str, Any]:
        target = self.target(ref)
        with self.context.store.read() as tx:
            stored = tx.maintenance_policy(target.warehouse.id, target.record.id)
        return {
            "warehouse": ref.warehouse,
            "namespace": list(ref.namespace),
            "table": ref.name,
            "settings": stored.settings if stored else {},
            "updated-at": stored.updated_at.isoformat() if stored else None,
            **policy_json(self.effective(target)),
        }

    def set_table_policy(self, ref: TableRef, raw: dict[str, Any]) -> dict[str, Any]:
        settings = parse_settings(raw).explicit()
        target = self.target(ref)
        with self.context.store.write() as tx:
            warehouse = tx.maintenance_policy(target.warehouse.id, None)
            check_stored(warehouse.settings if warehouse else None, settings)
            tx.set_maintenance_policy(target.warehouse.id, target.record.id, settings)
        return self.table_policy(ref)

    # runs -------------------------------------------------------------------------------
    @contextmanager
    def leased(self, target: TableTarget) -> Iterator[Lease]:
        lease = Lease(self.context, target.lease_key, self.holder, self.lease_ttl)
        if not lease.acquire():
            raise MaintenanceBusy(
                f"A maintenance job is already running on "
                f"{dotted((*target.ref.namespace, target.ref.name))}; try again later"
            )
        try:
            yield lease
        finally:
            lease.release()

    def run(
        self,
        ref: TableRef,
        kind: JobKind,
        *,
        dry_run: bool = False,
        trigger: Trigger = "manual",
        progress: Progress | None = None,
    ) -> MaintenanceRunRecord:
        """Take the table's lease, run one job, record it (raises `MaintenanceBusy`)."""
        target = self.target(ref)
        with self.leased(target):
            return self.run_leased(
                target, kind, dry_run=dry_run, trigger=trigger, progress=progress
            )

    def run_leased(
        self,
        target: TableTarget,
        kind: JobKind,
        *,
        dry_run: bool,
        trigger: Trigger,
        progress: Progress | None = None,
        policy: EffectivePolicy | None = None,
    ) -> MaintenanceRunRecord:
        """Run one job while the caller holds the table's lease, and record the run."""
        # The engine pulls in pyiceberg's pyarrow I/O: loaded on the first job, not at start.
        from catalog.maintenance.engine import run_job

        policy = policy or self.effective(target)
        started = utcnow()
        outcome = JobOutcome()
        error: str | None = None
        if not _enabled(policy, kind):
            result = "skipped"
            error = f"{kind.value} is disabled by this table's maintenance policy"
        else:
            try:
                outcome = run_job(
                    self.context,
                    target.ref,
                    kind,
                    policy.job,
                    dry_run=dry_run,
                    progress=progress,
                    now=started,
                )
                result = "succeeded"
            except Exception as failure:  # recorded: a run record is the place to see it
                log.warning(
                    "event=maintenance_failed table=%s kind=%s error=%s",
                    dotted((*target.ref.namespace, target.ref.name)),
                    kind.value,
                    failure,
                    exc_info=not isinstance(failure, CatalogError),
                )
                result = "failed"
                error = f"{type(failure).__name__}: {failure}"
        finished = utcnow()
        snapshot = target.metadata().current_snapshot_id
        details = {
            **_bounded(outcome.details),
            # Kept in the JSON details column (no migration): the files left alone because
            # they lie outside the table's location, and why.
            SKIPPED_FILES: _bounded([f.as_json() for f in outcome.skipped_files]),
            SKIPPED_COUNT: len(outcome.skipped_files),
            "snapshot-id-before": snapshot,
            "committed-snapshot-id": outcome.committed_snapshot_id,
            "policy": policy.settings,
        }
        draft = MaintenanceRunRecord(
            id=0,
            warehouse=target.ref.warehouse,
            namespace=target.ref.namespace,
            table=target.ref.name,
            kind=kind.value,
            trigger=trigger,
            dry_run=dry_run,
            runner=self.holder,
            started_at=started,
            finished_at=finished,
            outcome=result,
            error=error,
            files_before=outcome.files_before,
            files_after=outcome.files_after,
            bytes_rewritten=outcome.bytes_rewritten,
            files_deleted=outcome.files_deleted,
            snapshots_expired=outcome.snapshots_expired,
            details=details,
        )
        with self.context.store.write() as tx:
            run_id = tx.insert_maintenance_run(draft)
        _count(draft)
        log.info(
            "event=maintenance_run id=%d table=%s kind=%s trigger=%s outcome=%s",
            run_id,
            dotted((*target.ref.namespace, target.ref.name)),
            kind.value,
            trigger,
            result,
        )
        return replace(draft, id=run_id)

    def runs(
        self,
        warehouse: str | None = None,
        namespace: Sequence[str] | None = None,
        table: str | None = None,
        *,
        kind: str | None = None,
        page_token: str | None = None,
        page_size: int = 100,
    ) -> tuple[list[MaintenanceRunRecord], str | None]:
        """Newest first, in pages; the token is the keyset of the last run shown."""
        before = None
        if page_token:
            token = decode_token(page_token)
            if not token.isdigit() or len(token) > len(str(MAX_RUN_ID)):
                raise BadRequest("Invalid pageToken")
            before = int(token)
        with self.context.store.read() as tx:
            found = tx.list_maintenance_runs(
                warehouse, namespace, table, kind=kind, before_id=before, limit=page_size + 1
            )
        if len(found) <= page_size:
            return found, None
        page = found[:page_size]
        return page, encode_token(str(page[-1].id))

    def get_run(self, run_id: int) -> MaintenanceRunRecord:
        with self.context.store.read() as tx:
            run = tx.maintenance_run(run_id)
        if run is None:
            raise NoSuchRun(f"Maintenance run does not exist: {run_id}")
        return run

    def last_run(self, ref: TableRef, kind: JobKind) -> MaintenanceRunRecord | None:
        """The newest real (not dry) run of this kind that did not fail."""
        with self.context.store.read() as tx:
            for run in tx.list_maintenance_runs(
                ref.warehouse, ref.namespace, ref.name, kind=kind.value, limit=20
            ):
                if not run.dry_run and run.outcome == "succeeded":
                    return run
        return None
