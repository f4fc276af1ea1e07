"""The maintenance engine: one job on one table. The control plane calls `run_job` only."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.embedded_store import EmbeddedStore
from catalog.maintenance.compaction import compact
from catalog.maintenance.expiration import expire_snapshots
from catalog.maintenance.jobs import JobKind, JobOutcome, MaintenancePolicy, Progress, TableRef
from catalog.maintenance.orphans import remove_orphans
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.service.context import ServiceContext
from catalog.settings import Settings


def run_job(
    context: ServiceContext,
    table: TableRef,
    kind: JobKind,
    policy: MaintenancePolicy,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> JobOutcome:
    """Do one job, touching only files inside the table's location (each job loads the table
    with a `ConfinedFileIO`; files outside come back in `JobOutcome.skipped_files`).

    Raises `NoSuchWarehouse`/`NoSuchNamespace`/`NoSuchTable` for a missing table and
    pyiceberg's `CommitFailedException` when every commit attempt lost its race."""
    catalog = ServiceCatalog(context, table.warehouse)
    identifier = (*table.namespace, table.name)
    progress = progress or Progress()
    now = now or datetime.now(UTC)
    if kind == JobKind.COMPACT:
        return compact(catalog, identifier, policy, dry_run=dry_run, progress=progress)
    if kind == JobKind.EXPIRE:
        return expire_snapshots(
            catalog, identifier, policy, now, dry_run=dry_run, progress=progress
        )
    if kind == JobKind.ORPHANS:
        return remove_orphans(catalog, identifier, policy, now, dry_run=dry_run, progress=progress)
    raise ValueError(f"Unknown maintenance job: {kind}")


def context_from_settings(
    settings: Settings, embedded: EmbeddedStore | None = None
) -> ServiceContext:
    """A service context over the same database and storage as `icefloe serve` with these
    settings: for running jobs outside the server process (tests, benchmarks, a CLI)."""
    from catalog.app import build_catalog

    return build_catalog(settings, embedded).context
