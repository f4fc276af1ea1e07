"""`serve --workers 2` on PostgreSQL: each worker counts what it answered, and a scrape, which
ever worker answers it, shows the sum of both (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest

from catalog.observability.metrics import FLUSH_SECONDS
from tests.integration.test_workers import (
    WORKERS,
    fresh,
    pids_that_answered,
    until_every_worker_answered,
    worker_pids,
)
from tests.maintenance.control_support import rest
from tests.support.postgres import PostgresCluster
from tests.support.prometheus import scrape, value
from tests.support.server import CatalogServer

FLUSHED = 2 * FLUSH_SECONDS
GONE_PID = "4194305"  # above Linux's largest pid: a directory left by a server long gone


@pytest.fixture(scope="module")
def server(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    data_dir = tmp_path_factory.mktemp("metrics-workers")
    stale = data_dir / "metrics" / GONE_PID
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"\0" * 16)
    started = CatalogServer(
        data_dir,
        postgres.create_database(),
        storage="embedded",
        env={"ICEFLOE_WORKERS": str(WORKERS), "ICEFLOE_LOG_LEVEL": "INFO"},
    ).start(timeout=180)  # two workers starting on a busy machine
    yield started
    started.stop()


def loads_counted(server: CatalogServer) -> float:
    samples = scrape(server.url, server.token)
    return value(samples, "icefloe_http_requests_total", operation="loadTable", status="200")


def test_a_scrape_sums_every_worker(server: CatalogServer) -> None:
    assert not (server.data_dir / "metrics" / GONE_PID).exists()
    namespace = f"w_{uuid.uuid4().hex[:10]}"
    rest(server).create_namespace(namespace)
    rest(server).create_table(f"{namespace}.t", schema=pa.schema([("id", pa.int64())]))
    path = f"/v1/default/namespaces/{namespace}/tables/t"
    before = loads_counted(server)

    loads = until_every_worker_answered(server, lambda: fresh(server, "GET", path))
    assert all(load.status_code == 200 for load in loads)
    assert pids_that_answered(server, loads) == worker_pids(server)

    # A worker adds its requests to the shared files once a second (and the one answering a
    # scrape, its own at once): within a second every scrape, whichever worker answers it (each
    # on a new connection), shows the sum.
    time.sleep(FLUSHED)
    counts = {loads_counted(server) - before for _ in range(6)}
    assert counts == {len(loads)}


def test_a_dead_workers_counts_stay_and_its_pool_no_longer_counts(server: CatalogServer) -> None:
    samples = scrape(server.url, server.token)
    pool = value(samples, "icefloe_db_pool_size")
    assert pool > 0 and pool % WORKERS == 0
    time.sleep(FLUSHED)
    before = loads_counted(server)
    victim = min(worker_pids(server))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while victim in worker_pids(server) or len(worker_pids(server)) < WORKERS:
        assert time.monotonic() < deadline, "the worker was not started again"
        time.sleep(0.2)
    while True:  # the new worker adds its pool once it has started; the dead one's is gone
        after = scrape(server.url, server.token, timeout=120)  # its socket waits for it
        if value(after, "icefloe_db_pool_size") == pool:
            break
        assert value(after, "icefloe_db_pool_size") < pool, "the dead worker's pool still counts"
        assert time.monotonic() < deadline, "the new worker's pool never counted"
        time.sleep(0.2)
    loads = value(after, "icefloe_http_requests_total", operation="loadTable", status="200")
    assert loads == before
