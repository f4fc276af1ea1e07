"""Orphan-file removal: objects under a table's location that its metadata does not refer to.

Referenced: every metadata file in the metadata log and the current one, and everything any
snapshot needs (see `reachability`). A writer's files are unreferenced until its commit lands
(and a staged or failed commit's files may never be), so only objects last modified before
`now - orphan_grace` are deleted: the grace period is what keeps in-flight writes safe.
"""

from __future__ import annotations

import logging
from datetime import datetime

from catalog.maintenance.jobs import JobOutcome, MaintenancePolicy, Progress
from catalog.maintenance.reachability import Reachability, normalize
from catalog.maintenance.service_catalog import ServiceCatalog
from storage.io import ObjectStore

log = logging.getLogger("icefloe.maintenance.orphans")


def remove_orphans(
    catalog: ServiceCatalog,
    identifier: tuple[str, ...],
    store: ObjectStore,
    policy: MaintenancePolicy,
    now: datetime,
    *,
    dry_run: bool,
    progress: Progress,
) -> JobOutcome:
    table = catalog.load_table(identifier)
    # List first, then read the metadata again: a file committed in between is referenced by
    # the metadata read second, and one written after the listing is not listed at all.
    prefix = table.metadata.location.rstrip("/") + "/"
    listed = list(store.list(prefix))
    table = catalog.load_table(identifier)
    referenced = Reachability(table.io).table_files(table.metadata, table.metadata_location)
    cutoff_ms = int((now - policy.orphan_grace).timestamp() * 1000)
    orphans = sorted(
        info.location
        for info in listed
        if normalize(info.location) not in referenced and info.modified_ms < cutoff_ms
    )
    progress("orphans", 0, len(orphans))
    if dry_run:
        return JobOutcome(
            details={"dry_run": True, "would_delete": orphans, "deleted": [], "listed": len(listed)}
        )
    for done, location in enumerate(orphans, start=1):
        store.delete(location)
        progress("orphans", done, len(orphans))
    log.info(
        "event=orphans_removed table=%s listed=%d deleted=%d",
        ".".join(identifier),
        len(listed),
        len(orphans),
    )
    return JobOutcome(
        files_deleted=len(orphans), details={"deleted": orphans, "listed": len(listed)}
    )
