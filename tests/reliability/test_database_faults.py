"""PostgreSQL goes away under load, or every pooled connection is stuck: the catalog answers
with the spec's ErrorModel (503 while the database is down), never hangs, and serves again
on its own once the database is back — the same process, no restart.

The module runs its own throwaway cluster: stopping the session's cluster would break every
other test sharing it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from tests.reliability.chain import Metadata, chain, change, client, create_table, load
from tests.support.error_model import assert_error
from tests.support.postgres import PostgresCluster, find_pg_bin
from tests.support.server import CatalogServer

WRITERS = 3
READERS = 3


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    if find_pg_bin() is None:
        pytest.fail("PostgreSQL is not installed: run the suite through ./dev test")
    own = PostgresCluster()
    own.start()
    yield own
    own.stop()


@pytest.fixture(scope="module")
def server(
    cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    data_dir = tmp_path_factory.mktemp("dbfaults")
    running = CatalogServer(data_dir, cluster.create_database()).start()
    yield running
    running.stop()


@dataclass
class Load:
    """What the clients saw while the database went away and came back."""

    statuses: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[f"{kind} {response.status_code}"] += 1
        if response.status_code in (200, 204):
            return
        try:
            if response.status_code == 503:
                assert_error(response, 503, "ServiceUnavailableException")
            elif response.status_code == 500 and kind == "commit":
                assert_error(response, 500, "CommitStateUnknownException")
            else:
                raise AssertionError("unexpected status")
        except AssertionError:
            self.wrong.append(f"{kind}: {response.status_code} {response.text[:300]}")


def reader(http: httpx.Client, namespace: str, tables: list[str], state: Load) -> None:
    while not state.stop.is_set():
        for name in tables:
            state.record("load", http.get(f"/namespaces/{namespace}/tables/{name}"))


def properties(table: str, n: int) -> dict[str, str] | None:
    """Half the tables take plain appends (their pointer moves in a transaction of its own),
    the others a property with each (in a unit of work with the search index)."""
    return None if int(table[1:]) % 2 else {"seq": str(n)}


def writer(http: httpx.Client, namespace: str, name: str, state: Load) -> None:
    """Chained commits; after a failure, find out from the table which commits landed."""
    metadata: Metadata | None = None
    acked = 0
    while not state.stop.is_set():
        if metadata is None:
            response = http.get(f"/namespaces/{namespace}/tables/{name}")
            state.record("load", response)
            if response.status_code != 200:
                time.sleep(0.05)
                continue
            metadata = response.json()["metadata"]
            landed = len(chain(metadata))
            if landed not in (acked, state.unknown.get(name)):
                state.wrong.append(f"{name}: {landed} commits landed, {acked} acknowledged")
            acked = landed
            state.unknown.pop(name, None)
        n = acked + 1
        response = http.post(
            f"/namespaces/{namespace}/tables/{name}", json=change(metadata, n, properties(name, n))
        )
        state.record("commit", response)
        if response.status_code == 200:
            metadata, acked = response.json()["metadata"], n
            state.acked[name] = n
        else:
            if response.status_code == 500:
                state.unknown[name] = n
            metadata = None


def succeeds_again(server: CatalogServer, namespace: str, name: str) -> bool:
    """The same server process loads and commits again (a few tries while pools refill)."""
    with client(server.url, server.token, timeout=30) as http:
        for _ in range(50):
            response = http.get(f"/namespaces/{namespace}/tables/{name}")
            if response.status_code == 200:
                metadata = response.json()["metadata"]
                n = len(chain(metadata)) + 1
                committed = http.post(
                    f"/namespaces/{namespace}/tables/{name}", json=change(metadata, n, {})
                )
                if committed.status_code == 200:
                    return True
            time.sleep(0.1)
    return False


def test_postgres_restart_mid_load_gives_503_then_the_same_server_recovers(
    cluster: PostgresCluster, server: CatalogServer
) -> None:
    namespace = f"dbfaults_{uuid.uuid4().hex[:8]}"
    tables = [f"t{i}" for i in range(WRITERS)]
    with client(server.url, server.token) as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        for name in [*tables, "probe"]:
            create_table(http, namespace, name)
    state = Load()
    clients = [client(server.url, server.token, timeout=60) for _ in range(WRITERS + READERS)]
    threads = [
        threading.Thread(target=writer, args=(clients[i], namespace, name, state))
        for i, name in enumerate(tables)
    ] + [
        threading.Thread(target=reader, args=(c, namespace, tables, state))
        for c in clients[WRITERS:]
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        cluster.halt()
        time.sleep(1.5)
        during = sum(n for key, n in state.statuses.items() if key.endswith(" 503"))
        cluster.resume()
        assert succeeds_again(server, namespace, "probe"), server.log_path.read_text()[-3000:]
        time.sleep(0.5)
    finally:
        state.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        for c in clients:
            c.close()
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert state.wrong == []
    assert during > 0, f"no request saw the outage: {state.statuses}"
    assert server.process is not None and server.process.poll() is None
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    with client(server.url, server.token) as http:
        for name in tables:
            landed = len(chain(load(http, namespace, name)[1]))
            assert landed >= state.acked.get(name, 0), (name, landed, state.acked)
    print(f"\nPostgreSQL restart under load: {dict(state.statuses)}")


def test_every_connection_stuck_behind_a_lock_then_released_recovers(
    cluster: PostgresCluster, server: CatalogServer
) -> None:
    """More concurrent requests than the pool holds wait on a locked table; the event loop stays
    responsive (`/healthz` answers) and every request completes once the lock goes."""
    namespace = f"pool_{uuid.uuid4().hex[:8]}"
    with client(server.url, server.token) as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(http, namespace, "t")
    assert server.database_url is not None
    dsn = server.database_url.replace("postgresql+psycopg://", "postgresql://")
    blocker = psycopg.connect(dsn)
    blocker.execute("LOCK TABLE catalog_objects IN ACCESS EXCLUSIVE MODE")
    state = Load()
    requests = 60  # the pool holds 20 + 20 overflow connections

    def one() -> None:
        with client(server.url, server.token, timeout=120) as http:
            state.record("load", http.get(f"/namespaces/{namespace}/tables/t"))

    threads = [threading.Thread(target=one) for _ in range(requests)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        assert sum(state.statuses.values()) == 0, "requests got past an exclusive lock"
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        blocker.rollback()
        blocker.close()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert state.wrong == []
    assert state.statuses["load 200"] + state.statuses["load 503"] == requests
    assert succeeds_again(server, namespace, "t")
    print(f"\npool exhaustion: {dict(state.statuses)}")
