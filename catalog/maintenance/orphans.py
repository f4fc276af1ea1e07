"""Orphan-file removal: objects under a table's location that its metadata does not refer to.

Referenced: every metadata file in the metadata log and the current one, and everything any
snapshot needs (see `reachability`). A writer's files are unreferenced until its commit lands
(and a staged or failed commit's files may never be), so only objects last modified before
`now - orphan_grace` are deleted: the grace period is what keeps in-flight writes safe.

Listing and deleting go through the table's confined store (its location only, credentials
vended for it). When the metadata refers to a manifest list or manifest outside the location,
that file is not read, so what the table references is not fully known: nothing is deleted,
and the run record lists the candidates and the unread files as skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from catalog.maintenance.jobs import (
    OUTSIDE_LOCATION,
    REFERENCES_UNKNOWN,
    JobOutcome,
    MaintenancePolicy,
    Progress,
    SkippedFile,
)
from catalog.maintenance.reachability import Reachability, normalize
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.maintenance.table_io import table_storage

log = logging.getLogger("icefloe.maintenance.orphans")


def remove_orphans(
    catalog: ServiceCatalog,
    identifier: tuple[str, ...],
    policy: MaintenancePolicy,
    now: datetime,
    *,
    dry_run: bool,
    progress: Progress,
) -> JobOutcome:
    table = catalog.load_table(identifier)
    files = table_storage(table)
    # List first, then read the metadata again: a file committed in between is referenced by
    # the metadata read second, and one written after the listing is not listed at all.
    listed = list(files.store.list(files.location))
    table = catalog.load_table(identifier)
    unread: set[str] = set()
    referenced = Reachability(table.io, files.contains).table_files(
        table.metadata, table.metadata_location, unread
    )
    cutoff_ms = int((now - policy.orphan_grace).timestamp() * 1000)
    orphans = sorted(
        info.location
        for info in listed
        if normalize(info.location) not in referenced and info.modified_ms < cutoff_ms
    )
    skipped = [SkippedFile(p, OUTSIDE_LOCATION) for p in sorted(unread)]
    if unread:
        skipped += [SkippedFile(p, REFERENCES_UNKNOWN) for p in orphans]
        orphans = []
    progress("orphans", 0, len(orphans))
    if dry_run:
        return JobOutcome(
            details={
                "dry_run": True,
                "would_delete": orphans,
                "deleted": [],
                "listed": len(listed),
            },
            skipped_files=skipped,
        )
    for done, location in enumerate(orphans, start=1):
        files.store.delete(location)
        progress("orphans", done, len(orphans))
    log.info(
        "event=orphans_removed table=%s listed=%d deleted=%d skipped=%d",
        ".".join(identifier),
        len(listed),
        len(orphans),
        len(skipped),
    )
    return JobOutcome(
        files_deleted=len(orphans),
        details={"deleted": orphans, "listed": len(listed)},
        skipped_files=skipped,
    )
