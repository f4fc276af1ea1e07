"""Compaction racing clients that commit meanwhile: no appended row is lost or duplicated."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from catalog.maintenance.engine import run_job
from catalog.maintenance.jobs import JobKind, Progress, TableRef
from catalog.service.context import ServiceContext
from tests.maintenance.conftest import add_small_files, local, rest_catalog
from tests.maintenance.test_compaction import SMALL, batch
from tests.support.server import CatalogServer


def ids(table_rows: pa.Table) -> list[int]:
    return sorted(table_rows.column("id").to_pylist())


def parquet_files(folder: Path) -> set[str]:
    return {p.as_uri() for p in folder.rglob("*.parquet")}


def test_an_append_landing_before_the_commit_is_kept_and_nothing_is_rewritten_twice(
    file_catalog: RestCatalog,
    file_namespace: str,
    context: ServiceContext,
    file_server: CatalogServer,
) -> None:
    identifier = f"{file_namespace}.race"
    table = file_catalog.create_table(identifier, schema=batch(0, 1).schema)
    add_small_files(table, [batch(i * 10, 10) for i in range(20)])
    other = rest_catalog(file_server)
    landed: list[int] = []

    def append_when_written(step: str, done: int, total: int) -> None:
        if done == total and not landed:  # every bin written, commit not yet tried
            client_table = other.load_table(identifier)
            client_table.append(batch(10_000, 7))
            snapshot = client_table.current_snapshot()
            assert snapshot is not None
            landed.append(snapshot.snapshot_id)

    outcome = run_job(
        context,
        TableRef("default", (file_namespace,), "race"),
        JobKind.COMPACT,
        SMALL,
        progress=Progress(append_when_written),
    )

    table = file_catalog.load_table(identifier)
    current = table.current_snapshot()
    assert current is not None and current.snapshot_id == outcome.committed_snapshot_id
    assert landed and current.parent_snapshot_id == landed[0]  # re-committed on the new head
    assert outcome.details["plan_attempts"] == 1  # same rewritten files, no second rewrite
    assert ids(table.scan().to_arrow()) == list(range(200)) + list(range(10_000, 10_007))
    assert outcome.files_after == 2  # one compacted file + the concurrent append's file


def test_a_rewritten_file_deleted_meanwhile_makes_it_replan_and_drop_its_new_files(
    file_catalog: RestCatalog,
    file_namespace: str,
    context: ServiceContext,
    file_server: CatalogServer,
) -> None:
    identifier = f"{file_namespace}.conflict"
    table = file_catalog.create_table(identifier, schema=batch(0, 1).schema)
    add_small_files(table, [batch(i * 10, 10) for i in range(20)])
    folder = local(table.location())
    other = rest_catalog(file_server)
    first_attempt_files: set[str] = set()
    seed_files = parquet_files(folder)

    def delete_when_written(step: str, done: int, total: int) -> None:
        if done == total and not first_attempt_files:
            first_attempt_files.update(parquet_files(folder) - seed_files)
            # Copy-on-write delete: the file holding ids 0..9 is replaced by a client.
            other.load_table(identifier).delete("id < 5")

    outcome = run_job(
        context,
        TableRef("default", (file_namespace,), "conflict"),
        JobKind.COMPACT,
        SMALL,
        progress=Progress(delete_when_written),
    )

    assert outcome.details["plan_attempts"] == 2
    assert first_attempt_files and all(not local(path).exists() for path in first_attempt_files), (
        "the files of the losing attempt are deleted"
    )
    table = file_catalog.load_table(identifier)
    assert ids(table.scan().to_arrow()) == list(range(5, 200))
    assert outcome.files_after == 1


@pytest.mark.parametrize("writers", [4])
def test_compaction_racing_concurrent_appenders_keeps_every_row_exactly_once(
    file_catalog: RestCatalog,
    file_namespace: str,
    context: ServiceContext,
    file_server: CatalogServer,
    writers: int,
) -> None:
    identifier = f"{file_namespace}.busy"
    # Four clients and the compaction all compete for main: give every client room to retry.
    retries = {"commit.retry.num-retries": "50", "commit.retry.max-wait-ms": "500"}
    table = file_catalog.create_table(identifier, schema=batch(0, 1).schema, properties=retries)
    add_small_files(table, [batch(i * 10, 10) for i in range(30)])
    appends_each = 4
    errors: list[BaseException] = []

    def append(writer: int) -> None:
        try:
            client = rest_catalog(file_server).load_table(identifier)
            for n in range(appends_each):
                client.append(batch(100_000 * (writer + 1) + n * 10, 10))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    compactions = []
    ref = TableRef("default", (file_namespace,), "busy")
    while any(thread.is_alive() for thread in threads) or not compactions:
        compactions.append(run_job(context, ref, JobKind.COMPACT, SMALL))
    for thread in threads:
        thread.join()
    compactions.append(run_job(context, ref, JobKind.COMPACT, SMALL))

    assert not errors
    expected = list(range(300)) + [
        100_000 * (w + 1) + n * 10 + k
        for w in range(writers)
        for n in range(appends_each)
        for k in range(10)
    ]
    table = file_catalog.load_table(identifier)
    assert ids(table.scan().to_arrow()) == sorted(expected)
    assert any(c.committed_snapshot_id for c in compactions)
    assert len(list(table.scan().plan_files())) == 1
