"""The scheduler and its leases: due jobs run on their own, one worker per table at a time,
also with two schedulers in two processes sharing one PostgreSQL database."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.table import Table
from sqlalchemy import Engine, text

from catalog.app import build_catalog
from catalog.maintenance.control import MaintenanceService
from catalog.maintenance.scheduler import Scheduler
from catalog.settings import Settings
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import upgrade
from catalog.store.repository import SqlCatalogStore
from tests.maintenance.control_support import admin, rest, runs_of, small_files_table, table_path
from tests.support.error_model import assert_error
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer

DISABLED = {"icefloe.maintenance.compaction.enabled": "false"}
NOTHING_DUE = {
    f"icefloe.maintenance.{kind}.enabled": "false"
    for kind in ("compaction", "expiration", "orphans")
}
WAIT_SECONDS = 120


@pytest.fixture(scope="module")
def database_url(postgres: PostgresCluster) -> str:
    return postgres.create_database()


@pytest.fixture(scope="module")
def scheduling_server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> Iterator[CatalogServer]:
    """A server whose scheduler runs a round every second."""
    server = CatalogServer(
        tmp_path_factory.mktemp("scheduling"),
        database_url,
        env={"ICEFLOE_MAINTENANCE_INTERVAL_SECONDS": "1"},
    )
    server.start()
    yield server
    server.stop()
    # SIGTERM stops the scheduler between jobs; the process exits cleanly, not by a kill.
    assert server.process is not None and server.process.returncode == 0


@pytest.fixture(scope="module")
def sql(database_url: str) -> Iterator[Engine]:
    engine = create_catalog_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def enable_compaction(table: Table) -> None:
    with table.transaction() as transaction:
        transaction.remove_properties(*DISABLED)


def scheduled(server: CatalogServer, table: Table, kind: str) -> list[dict[str, Any]]:
    return [
        run
        for run in runs_of(server, table, kind=kind)
        if run["trigger"] == "scheduled" and run["outcome"] == "succeeded"
    ]


def lease_key(sql: Engine, table: Table) -> str:
    namespace, name = table.name()
    with sql.connect() as connection:
        object_id = connection.execute(
            text(
                "SELECT o.id FROM catalog_objects o JOIN namespaces n ON n.id = o.namespace_id "
                "WHERE n.name = :namespace AND o.name = :name"
            ),
            {"namespace": namespace, "name": name},
        ).scalar_one()
    return f"table:{object_id}"


def leases(sql: Engine) -> dict[str, tuple[str, datetime]]:
    with sql.connect() as connection:
        rows = connection.execute(text("SELECT key, holder, expires_at FROM maintenance_leases"))
        return {row.key: (row.holder, row.expires_at) for row in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_lease_has_one_holder_at_a_time_and_an_expired_one_is_taken_over(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("database_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'leases.db'}"
    )
    engine = create_catalog_engine(url, pool_size=10)
    upgrade(engine)
    store = SqlCatalogStore(engine)
    key = f"table:test-{backend}-{time.monotonic_ns()}"
    start = threading.Barrier(8)
    won: list[str] = []

    def contender(index: int) -> None:
        start.wait()
        now = datetime.now(UTC)
        with store.write() as tx:
            if tx.take_lease(key, f"holder-{index}", now, now + timedelta(minutes=5)):
                won.append(f"holder-{index}")

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(won) == 1, won
        with store.write() as tx:
            assert not tx.release_lease(key, "someone-else")
            lease = tx.lease(key)
            assert lease is not None and lease.holder == won[0]
            assert tx.release_lease(key, won[0])

        now = datetime.now(UTC)
        with store.write() as tx:
            assert tx.take_lease(key, "crashed", now, now + timedelta(milliseconds=300))
        with store.write() as tx:
            later = datetime.now(UTC)
            assert not tx.take_lease(key, "successor", later, later + timedelta(minutes=5))
        time.sleep(0.4)
        with store.write() as tx:
            later = datetime.now(UTC)
            assert tx.take_lease(key, "successor", later, later + timedelta(minutes=5))
        with store.write() as tx:
            assert not tx.release_lease(key, "crashed")
            lease = tx.lease(key)
            assert lease is not None and lease.holder == "successor"
            assert tx.release_lease(key, "successor")
    finally:
        engine.dispose()


def test_the_scheduler_compacts_a_table_with_many_small_files_on_its_own(
    scheduling_server: CatalogServer,
) -> None:
    catalog = rest(scheduling_server)
    table = small_files_table(catalog, 6, DISABLED)
    enable_compaction(table)

    run = wait_for(
        lambda: scheduled(scheduling_server, table, "compact"), "a scheduled compaction"
    )[0]
    assert run["dry-run"] is False
    assert (run["files-before"], run["files-after"]) == (6, 1)
    assert run["bytes-rewritten"] > 0
    current = catalog.load_table(table.name())
    snapshot = current.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    assert snapshot.summary["total-data-files"] == "1"
    assert sorted(current.scan().to_arrow()["id"].to_pylist()) == list(range(6))
    # Orphan removal is due once a day per table, and the first round did it.
    assert wait_for(lambda: scheduled(scheduling_server, table, "orphans"), "orphan removal")


def test_two_schedulers_sharing_postgres_never_work_on_one_table_at_once(
    scheduling_server: CatalogServer, database_url: str, sql: Engine
) -> None:
    """One scheduler runs in the server, a second in this test process: both see every table,
    the lease lets one of them work on a table at a time."""
    catalog = rest(scheduling_server)
    tables = [small_files_table(catalog, 6, DISABLED) for _ in range(3)]
    settings = Settings(
        data_dir=scheduling_server.data_dir,
        database_url=database_url,
        s3_port=scheduling_server.s3_port,
    )
    context = build_catalog(settings).context
    second = Scheduler(MaintenanceService(context), timedelta(seconds=1))
    keys = {lease_key(sql, table) for table in tables}
    seen_holders: set[str] = set()
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            seen_holders.update(holder for key, (holder, _) in leases(sql).items() if key in keys)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    second.start()
    try:
        for table in tables:
            enable_compaction(table)
        for table in tables:
            wait_for(partial(scheduled, scheduling_server, table, "compact"), "compactions")
    finally:
        second.stop()
        sampling.set()
        sampler.join()
        context.store.engine.dispose()  # type: ignore[attr-defined]

    runners: set[str] = set()
    for table in tables:
        runs = sorted(runs_of(scheduling_server, table), key=lambda r: at(r["started-at"]))
        for earlier, later in itertools.pairwise(runs):
            assert at(later["started-at"]) >= at(earlier["finished-at"]), (earlier, later)
        compactions = [r for r in runs if r["kind"] == "compact"]
        assert len(compactions) == 1, compactions
        assert compactions[0]["outcome"] == "succeeded"
        assert len([r for r in runs if r["kind"] == "orphans"]) <= 1
        runners.update(r["runner"] for r in runs)
    assert seen_holders, "no lease was ever seen while the schedulers worked"
    assert seen_holders <= runners | {second.service.holder}
    assert not keys & set(leases(sql)), "a lease was left behind"


def test_a_held_lease_blocks_every_runner_until_it_expires(
    scheduling_server: CatalogServer, sql: Engine
) -> None:
    catalog = rest(scheduling_server)
    table = small_files_table(catalog, 6, NOTHING_DUE)
    key = lease_key(sql, table)
    with sql.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO maintenance_leases (key, holder, acquired_at, expires_at) "
                "VALUES (:key, 'crashed-process', :now, :until)"
            ),
            {
                "key": key,
                "now": datetime.now(UTC),
                "until": datetime.now(UTC) + timedelta(hours=1),
            },
        )
    with table.transaction() as transaction:
        transaction.remove_properties(*NOTHING_DUE)
    with admin(scheduling_server) as http:
        response = http.post(table_path(table) + "/maintenance/runs", json={"kind": "compact"})
    assert_error(response, 409, "MaintenanceInProgressException")
    time.sleep(4)  # several scheduler rounds
    assert runs_of(scheduling_server, table) == []

    # The holder crashed: its lease runs out and the scheduler takes the table over.
    with sql.begin() as connection:
        connection.execute(
            text("UPDATE maintenance_leases SET expires_at = :past WHERE key = :key"),
            {"key": key, "past": datetime.now(UTC) - timedelta(seconds=1)},
        )
    run = wait_for(lambda: scheduled(scheduling_server, table, "compact"), "the takeover")[0]
    assert (run["files-before"], run["files-after"]) == (6, 1)
    wait_for(lambda: key not in leases(sql), "the lease to be released")
