"""`icefloe serve --workers N`: several processes answer on the same ports, and nothing a client
can see changes. Each request here goes on a new connection, so that the kernel hands it to
either worker; the access log (every line names its process) shows both answered."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.console.support import PARQUET, parquet_bytes
from tests.integration.test_concurrent_writers import (
    assert_every_append_landed_once,
    create_target,
    hammer,
)
from tests.maintenance.control_support import rest, runs_of, small_files_table
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer

WORKERS = 2
ACCESS_LINE = re.compile(r" icefloe\.access\[(\d+)\] event=request .* request_id=(\S+)")
WAIT_SECONDS = 120


def start(
    data_dir: Path, database_url: str | None, env: dict[str, str] | None = None
) -> CatalogServer:
    return CatalogServer(
        data_dir,
        database_url,
        storage="embedded",
        env={"ICEFLOE_WORKERS": str(WORKERS), "ICEFLOE_LOG_LEVEL": "INFO", **(env or {})},
    ).start()


@pytest.fixture(scope="module")
def server(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    """Two workers on PostgreSQL, the default warehouse on the embedded store, a scheduler
    round every second."""
    started = start(
        tmp_path_factory.mktemp("workers"),
        postgres.create_database(),
        {"ICEFLOE_MAINTENANCE_INTERVAL_SECONDS": "1"},
    )
    yield started
    started.stop()
    assert started.process is not None and started.process.returncode == 0


def fresh(
    server: CatalogServer,
    method: str,
    path: str,
    json: object = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request on a connection of its own, tagged for the access log."""
    tagged = {**server.auth_headers, "X-Request-Id": f"t{uuid.uuid4().hex}", **(headers or {})}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        return client.request(method, path, headers=tagged, json=json)


def access_log(server: CatalogServer) -> dict[str, int]:
    """Request id -> the pid of the worker that answered it."""
    return {match[2]: int(match[1]) for match in ACCESS_LINE.finditer(server.logged())}


def pids_that_answered(server: CatalogServer, responses: list[httpx.Response]) -> set[int]:
    wanted = {response.headers["x-request-id"] for response in responses}
    deadline = time.monotonic() + 10
    while True:
        found = {rid: pid for rid, pid in access_log(server).items() if rid in wanted}
        if len(found) == len(wanted) or time.monotonic() > deadline:
            return set(found.values())
        time.sleep(0.1)


def until_every_worker_answered(
    server: CatalogServer, send: Callable[[], httpx.Response]
) -> list[httpx.Response]:
    """Requests on new connections until each worker has answered at least one."""
    responses: list[httpx.Response] = []
    while len(responses) < 200:
        responses += [send() for _ in range(4)]
        if len(pids_that_answered(server, responses)) == WORKERS:
            return responses
    raise AssertionError("200 requests on new connections all went to one worker")


def worker_pids(server: CatalogServer) -> set[int]:
    """The server's live worker processes."""
    assert server.process is not None
    pids = set()
    for child in psutil.Process(server.process.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                pids.add(child.pid)
        except psutil.Error:  # gone (or going) meanwhile
            continue
    return pids


def test_both_workers_answer_and_every_load_sees_the_last_commit(server: CatalogServer) -> None:
    catalog = rest(server)
    namespace = f"w_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(namespace)
    catalog.create_table(f"{namespace}.t", schema=pa.schema([("id", pa.int64())]))
    path = f"/v1/default/namespaces/{namespace}/tables/t"
    loads: list[httpx.Response] = []
    for value in range(100):
        update = {"action": "set-properties", "updates": {"n": str(value)}}
        commit = fresh(server, "POST", path, json={"requirements": [], "updates": [update]})
        assert commit.status_code == 200, commit.text
        for _ in range(3):
            load = fresh(server, "GET", path)
            assert load.status_code == 200, load.text
            assert load.json()["metadata"]["properties"]["n"] == str(value)
            loads.append(load)
        if value >= 20 and len(pids_that_answered(server, loads)) == WORKERS:
            break
    assert pids_that_answered(server, loads) == worker_pids(server)


def test_parallel_pyiceberg_appends_through_the_embedded_store_lose_nothing(
    server: CatalogServer,
) -> None:
    catalog = rest(server)
    namespace = f"w_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(namespace)
    identifier = create_target(catalog, namespace)
    assert catalog.load_table(identifier).location().startswith("s3://default/")
    hammer([server.url], server.token, identifier)
    assert_every_append_landed_once(catalog, identifier)


def test_a_token_revoked_through_one_worker_is_refused_at_once_by_every_worker(
    server: CatalogServer,
) -> None:
    """Each worker caches the token row for up to a second; the revoke voids every cache."""
    created = fresh(
        server,
        "POST",
        "/admin/v1/tokens",
        json={"name": "short-lived", "permission": "read-only", "warehouses": ["default"]},
    )
    assert created.status_code == 201, created.text
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}

    def config() -> httpx.Response:
        return fresh(server, "GET", "/v1/config", headers=bearer)

    before = until_every_worker_answered(server, config)  # each holds the row in its cache
    assert {response.status_code for response in before} == {200}

    revoked = fresh(server, "DELETE", f"/admin/v1/tokens/{created.json()['id']}")
    assert revoked.status_code == 204, revoked.text
    after = until_every_worker_answered(server, config)
    assert {response.status_code for response in after} == {401}


def test_the_scheduler_runs_each_due_job_once_per_table(server: CatalogServer) -> None:
    """Worker 0 runs the scheduler, the lease keeps a job to one holder: three tables with
    many small files are compacted once each, and their orphans looked for once each."""
    catalog = rest(server)
    tables = [small_files_table(catalog, 6) for _ in range(3)]

    def scheduled(kind: str) -> list[list[dict[str, object]]]:
        return [
            [run for run in runs_of(server, table, kind=kind) if run["trigger"] == "scheduled"]
            for table in tables
        ]

    deadline = time.monotonic() + WAIT_SECONDS
    while not all(scheduled("orphans")) or not all(scheduled("compact")):
        assert time.monotonic() < deadline, "the scheduler did not run"
        time.sleep(0.5)
    time.sleep(3)  # three more rounds: nothing is due again
    for kind in ("compact", "orphans"):
        assert [len(runs) for runs in scheduled(kind)] == [1, 1, 1], kind
    for table in tables:
        assert sorted(catalog.load_table(table.name()).scan().to_arrow()["id"].to_pylist()) == [
            *range(6)
        ]


def test_a_worker_that_dies_is_replaced_and_sigterm_stops_every_process(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    server = start(tmp_path / "data", postgres.create_database())
    assert server.process is not None
    parent = psutil.Process(server.process.pid)
    workers = worker_pids(server)
    assert len(workers) == WORKERS
    everything = parent.children(recursive=True)

    victim = min(workers)
    psutil.Process(victim).kill()
    deadline = time.monotonic() + WAIT_SECONDS
    while len(worker_pids(server) - {victim}) < WORKERS:
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.2)
    everything += parent.children(recursive=True)
    assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(everything, timeout=10)
    assert alive == []


def test_a_worker_dies_with_its_parent(postgres: PostgresCluster, tmp_path: Path) -> None:
    """kill -9 of the server takes its workers along: none keeps the port."""
    server = start(tmp_path / "data", postgres.create_database())
    assert server.process is not None
    workers = [psutil.Process(pid) for pid in worker_pids(server)]
    server.kill()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=5)


def test_two_workers_on_sqlite_when_asked(tmp_path: Path) -> None:
    server = start(tmp_path / "data", None)
    try:
        catalog: RestCatalog = rest(server)
        catalog.create_namespace("lite")
        table = catalog.create_table("lite.t", schema=pa.schema([("id", pa.int64())]))
        table.append(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
        again = rest(server).load_table("lite.t")
        assert sorted(again.scan().to_arrow()["id"].to_pylist()) == [1, 2, 3]
        assert len(worker_pids(server)) == WORKERS
        assert "2 workers on SQLite" in server.log_path.read_text()
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0


def test_an_upload_slot_made_by_one_worker_is_committed_by_another(
    server: CatalogServer,
) -> None:
    """Upload ids are sealed, not stored: any worker opens any worker's slot (issue 14)."""
    catalog = rest(server)
    namespace = f"w_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(namespace)
    catalog.create_table(f"{namespace}.up", schema=pa.schema([("id", pa.int64())]))
    path = f"/admin/v1/warehouses/default/namespaces/{namespace}/tables/up/uploads"
    data = parquet_bytes(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
    crossed = False
    for attempt in range(16):
        made = fresh(
            server,
            "POST",
            path,
            json={"file-name": "a.parquet", "content-type": PARQUET, "content-length": len(data)},
        )
        assert made.status_code == 201, made.text
        slot = made.json()
        assert httpx.put(slot["url"], content=data, headers=slot["headers"]).status_code == 200
        committed = fresh(server, "POST", f"{path}/{slot['upload-id']}/commit")
        assert committed.status_code == 200, committed.text
        assert committed.json()["table-row-count"] == 3 * (attempt + 1)
        if len(pids_that_answered(server, [made, committed])) == WORKERS:
            crossed = True
            break
    assert crossed, "16 slots and their commits were all answered by one worker"
