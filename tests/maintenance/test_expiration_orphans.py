"""Snapshot expiration and orphan removal delete exactly the unreachable files.

The expected sets are computed here independently of the engine: from directory listings and
from what PyIceberg (over HTTP) says each snapshot needs (`inspect.files`, manifests).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table import Table

from catalog.exceptions import NoSuchTable, NoSuchWarehouse
from catalog.maintenance.engine import run_job
from catalog.maintenance.jobs import JobKind, MaintenancePolicy, TableRef
from catalog.service.context import ServiceContext
from tests.maintenance.conftest import local, sorted_rows
from tests.maintenance.test_compaction import SMALL, batch

DAY = timedelta(days=1)


def on_disk(table: Table) -> set[str]:
    return {p.as_uri() for p in local(table.location()).rglob("*") if p.is_file()}


def needed_by(table: Table, snapshot_id: int) -> set[str]:
    """What PyIceberg says one snapshot needs: its manifest list, manifests, live files."""
    snapshot = table.metadata.snapshot_by_id(snapshot_id)
    assert snapshot is not None
    files = {snapshot.manifest_list}
    files |= {m.manifest_path for m in snapshot.manifests(table.io)}
    files |= set(table.inspect.files(snapshot_id=snapshot_id).column("file_path").to_pylist())
    return files


def history_table(file_catalog: RestCatalog, identifier: str) -> tuple[Table, list[int]]:
    """S1 append, S2 copy-on-write delete (replaces S1's file), S3, S4 appends, S5 compaction."""
    table = file_catalog.create_table(identifier, schema=batch(0, 1).schema)
    table.append(batch(0, 10))
    table.delete("id < 5")
    table.append(batch(100, 10))
    table.append(batch(200, 10))
    return table, [s.snapshot_id for s in table.metadata.snapshots]


def test_expiration_deletes_exactly_the_files_only_expired_snapshots_needed(
    file_catalog: RestCatalog, file_namespace: str, context: ServiceContext
) -> None:
    identifier = f"{file_namespace}.history"
    table, (s1, s2, s3, s4) = history_table(file_catalog, identifier)
    ref = TableRef("default", (file_namespace,), "history")
    s5 = run_job(context, ref, JobKind.COMPACT, SMALL).committed_snapshot_id
    assert s5 is not None
    table = file_catalog.load_table(identifier)
    table.manage_snapshots().create_tag(s3, "audit").commit()
    table = file_catalog.load_table(identifier)
    rows_at = {s: sorted_rows(table.scan(snapshot_id=s).to_arrow()) for s in (s3, s4, s5)}
    # Expected: S5 (main) and S4 are the 2 newest, S3 is tagged; S1 and S2 expire.
    kept = needed_by(table, s3) | needed_by(table, s4) | needed_by(table, s5)
    expected = (needed_by(table, s1) | needed_by(table, s2)) - kept
    assert any(path.endswith(".parquet") for path in expected)  # S1's replaced data file
    disk_before = on_disk(table)
    policy = MaintenancePolicy(expire_older_than=timedelta(0), retain_last=2)
    later = datetime.now(UTC) + timedelta(minutes=1)

    preview = run_job(context, ref, JobKind.EXPIRE, policy, now=later, dry_run=True)
    assert on_disk(file_catalog.load_table(identifier)) == disk_before
    assert file_catalog.load_table(identifier).metadata_location == table.metadata_location
    outcome = run_job(context, ref, JobKind.EXPIRE, policy, now=later)

    assert preview.details["would_delete"] == outcome.details["deleted"]
    assert outcome.snapshots_expired == 2
    assert sorted(outcome.details["expired_snapshot_ids"]) == sorted([s1, s2])
    assert set(outcome.details["deleted"]) == expected
    assert outcome.files_deleted == len(expected)
    table = file_catalog.load_table(identifier)
    # Nothing else vanished (the new metadata file is the only addition).
    assert disk_before - on_disk(table) == expected
    assert {s.snapshot_id for s in table.metadata.snapshots} == {s3, s4, s5}
    for snapshot_id, rows in rows_at.items():
        assert sorted_rows(table.scan(snapshot_id=snapshot_id).to_arrow()) == rows
    assert table.scan(snapshot_id=s3).to_arrow().num_rows == 15


def test_young_snapshots_and_the_retained_newest_never_expire(
    file_catalog: RestCatalog, file_namespace: str, context: ServiceContext
) -> None:
    identifier = f"{file_namespace}.young"
    table, snapshot_ids = history_table(file_catalog, identifier)
    ref = TableRef("default", (file_namespace,), "young")
    files = on_disk(table)

    # Both conditions must hold: young snapshots stay though not among the newest 1 ...
    young = run_job(context, ref, JobKind.EXPIRE, MaintenancePolicy(retain_last=1))
    # ... and the newest stay though old.
    later = datetime.now(UTC) + 30 * DAY
    newest = run_job(context, ref, JobKind.EXPIRE, MaintenancePolicy(retain_last=10), now=later)

    assert young.snapshots_expired == 0 and newest.snapshots_expired == 0
    table = file_catalog.load_table(identifier)
    assert [s.snapshot_id for s in table.metadata.snapshots] == snapshot_ids
    assert on_disk(table) == files


def age(paths: set[str] | list[str], seconds: float) -> None:
    stamp = time.time() - seconds
    for path in paths:
        os.utime(local(path), (stamp, stamp))


def test_orphan_removal_deletes_only_old_unreferenced_files(
    file_catalog: RestCatalog, file_namespace: str, context: ServiceContext
) -> None:
    identifier = f"{file_namespace}.orphans"
    # Keep only one previous metadata file in the log: older ones become orphans.
    table = file_catalog.create_table(
        identifier,
        schema=batch(0, 1).schema,
        properties={"write.metadata.previous-versions-max": "1"},
    )
    for start in (0, 100, 200):
        table.append(batch(start, 10))
    table = file_catalog.load_table(identifier)
    folder = local(table.location())
    stray_old = folder / "data" / "crashed-writer.parquet"
    stray_old.write_bytes(b"PAR1 left by a writer that died")
    stray_metadata = folder / "metadata" / "99999-lost-commit.metadata.json"
    stray_metadata.write_text("{}")
    age(on_disk(table), 3 * 86400)  # everything so far is three days old
    stray_young = folder / "data" / "in-flight.parquet"
    stray_young.write_bytes(b"PAR1 being written right now")

    referenced = {table.metadata_location} | {e.metadata_file for e in table.metadata.metadata_log}
    for snapshot in table.metadata.snapshots:
        referenced |= needed_by(table, snapshot.snapshot_id)
    everything = on_disk(table)
    expected = {p for p in everything - referenced if p != stray_young.as_uri()}
    assert {stray_old.as_uri(), stray_metadata.as_uri()} < expected
    assert any(p.endswith(".metadata.json") and p != stray_metadata.as_uri() for p in expected)
    rows = sorted_rows(table.scan().to_arrow())
    ref = TableRef("default", (file_namespace,), "orphans")

    preview = run_job(context, ref, JobKind.ORPHANS, MaintenancePolicy(), dry_run=True)
    assert on_disk(table) == everything
    outcome = run_job(context, ref, JobKind.ORPHANS, MaintenancePolicy())

    assert set(preview.details["would_delete"]) == expected
    assert set(outcome.details["deleted"]) == expected and outcome.files_deleted == len(expected)
    assert on_disk(table) == everything - expected
    assert stray_young.exists()
    table = file_catalog.load_table(identifier)
    assert sorted_rows(table.scan().to_arrow()) == rows
    for snapshot in table.metadata.snapshots:
        assert table.scan(snapshot_id=snapshot.snapshot_id).to_arrow().num_rows > 0
    # With a grace period longer than the files' age, nothing is touched.
    again = run_job(context, ref, JobKind.ORPHANS, MaintenancePolicy(orphan_grace=7 * DAY))
    assert again.files_deleted == 0


def test_missing_table_raises_the_catalog_error(
    context: ServiceContext, file_namespace: str
) -> None:
    with pytest.raises(NoSuchTable):
        run_job(context, TableRef("default", (file_namespace,), "absent"), JobKind.EXPIRE, SMALL)
    with pytest.raises(NoSuchWarehouse):
        run_job(context, TableRef("nowhere", (file_namespace,), "absent"), JobKind.COMPACT, SMALL)
