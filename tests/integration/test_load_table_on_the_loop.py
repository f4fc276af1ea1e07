"""On PostgreSQL a warm loadTable is answered on the event loop (catalog/store/loop_reads.py):
the token from this process's cache, the pointer read through asyncpg, the body from the
rendered-body cache, and no hop to the fast paths' worker threads. What cannot be had that way
(a token not held fresh, a body not rendered yet, a broken connection) is answered on a worker
thread as before, with the same bytes. getConfig's warehouse names and the
listings' pages are read the same way.

The app runs in this process (its `fast.THREADS` can then be seen busy) on the database of a
real `icefloe serve`, through which the tests create and commit: the other process's commits
must be seen by the next load here.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import URL, make_url

from catalog.api import fast
from catalog.app import create_app
from catalog.settings import Settings
from catalog.store.loop_reads import LoopReads
from catalog.store.pointers import Pointer, Prepared, TablePointers
from tests.support.payloads import commit, create_table, set_properties
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer

LOOP_READ = "%FROM warehouses JOIN namespaces%"  # the pointer select, as asyncpg sends it


@pytest.fixture(scope="module")
def server(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    started = CatalogServer(tmp_path_factory.mktemp("loop"), postgres.create_database()).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def app(server: CatalogServer) -> FastAPI:
    assert server.database_url is not None
    settings = Settings(
        data_dir=server.data_dir,
        database_url=server.database_url,
        embedded_s3=False,
        maintenance_enabled=False,
    )
    return create_app(settings)


@pytest.fixture
def table(server: CatalogServer) -> str:
    """A fresh table, made through the other process."""
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    with server.rest_client() as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(http, namespace, "t")
    return f"/v1/default/namespaces/{namespace}/tables/t"


@pytest.fixture
async def client(app: FastAPI, server: CatalogServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://icefloe", headers=server.auth_headers
    ) as http:
        yield http
    for reads in app.state.fast_reads:  # this test's loop ends: its connections with it
        reads.close()


@pytest.fixture
def busy_threads() -> Iterator[None]:
    """Every one of the fast paths' worker threads busy until the test ends."""
    release = threading.Event()
    started = threading.Barrier(fast.THREADS._max_workers + 1)

    def wait() -> None:
        started.wait()
        release.wait()

    jobs = [fast.THREADS.submit(wait) for _ in range(fast.THREADS._max_workers)]
    started.wait(timeout=10)
    yield
    release.set()
    for job in jobs:
        job.result(timeout=10)


def _terminate_loop_connections(database_url: str) -> int:
    url = make_url(database_url)
    dsn = f"postgresql://{url.username}@{url.host}:{url.port}/{url.database}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE %s",
            (LOOP_READ,),
        ).fetchall()
    return len(rows)


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_warm_load_is_answered_while_every_worker_thread_is_busy(
    client: httpx.AsyncClient, table: str, request: pytest.FixtureRequest
) -> None:
    cold = await client.get(table)  # renders the body and reads the token, on a thread
    assert cold.status_code == 200
    request.getfixturevalue("busy_threads")
    warm = await asyncio.wait_for(client.get(table), timeout=10)
    assert warm.status_code == 200
    assert warm.content == cold.content
    assert warm.headers["etag"] == cold.headers["etag"]
    revalidated = await asyncio.wait_for(
        client.get(table, headers={"If-None-Match": warm.headers["etag"]}), timeout=10
    )
    assert revalidated.status_code == 304


async def test_a_warm_config_is_answered_while_every_worker_thread_is_busy(
    client: httpx.AsyncClient, request: pytest.FixtureRequest
) -> None:
    """Every client's first request: the warehouse names read on the loop too."""
    cold = [await client.get("/v1/config", params=p) for p in ({}, {"warehouse": "default"})]
    assert [r.status_code for r in cold] == [200, 200]
    request.getfixturevalue("busy_threads")
    for params, before in zip(({}, {"warehouse": "default"}), cold, strict=True):
        warm = await asyncio.wait_for(client.get("/v1/config", params=params), timeout=10)
        assert warm.status_code == 200
        assert warm.content == before.content
    unknown = await asyncio.wait_for(
        client.get("/v1/config", params={"warehouse": "nowhere"}), timeout=10
    )
    assert unknown.status_code == 404


async def test_warm_listings_are_answered_while_every_worker_thread_is_busy(
    client: httpx.AsyncClient, server: CatalogServer, request: pytest.FixtureRequest
) -> None:
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    with server.rest_client() as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        assert http.post("/namespaces", json={"namespace": [namespace, "inner"]}).status_code == 200
        for name in ("a", "b", "c"):
            create_table(http, namespace, name)
    base = f"/v1/default/namespaces/{namespace}/tables"
    await client.get("/v1/config")  # the token held fresh here
    request.getfixturevalue("busy_threads")

    async def get(path: str, **params: str) -> httpx.Response:
        return await asyncio.wait_for(client.get(path, params=params), timeout=10)

    first = await get(base, pageSize="2")
    assert first.status_code == 200
    assert first.json()["identifiers"] == [
        {"namespace": [namespace], "name": "a"},
        {"namespace": [namespace], "name": "b"},
    ]
    rest = await get(base, pageSize="2", pageToken=first.json()["next-page-token"])
    assert [i["name"] for i in rest.json()["identifiers"]] == ["c"]
    assert rest.json().get("next-page-token") is None
    whole = await get(base)
    assert [i["name"] for i in whole.json()["identifiers"]] == ["a", "b", "c"]
    children = await get("/v1/default/namespaces", parent=namespace)
    assert children.json()["namespaces"] == [[namespace, "inner"]]
    views = await get(f"/v1/default/namespaces/{namespace}/views")
    assert views.status_code == 200 and views.json()["identifiers"] == []
    top = await get("/v1/default/namespaces")
    assert [namespace] in top.json()["namespaces"]


async def test_a_commit_through_the_other_process_is_seen_by_the_next_load_here(
    client: httpx.AsyncClient, server: CatalogServer, table: str
) -> None:
    before = await client.get(table)
    assert before.status_code == 200
    namespace = table.split("/")[4]
    with server.rest_client() as http:
        assert commit(http, namespace, "t", [set_properties(seen="yes")]).status_code == 200
    after = await client.get(table)
    assert after.status_code == 200
    assert after.json()["metadata"]["properties"]["seen"] == "yes"
    assert after.headers["etag"] != before.headers["etag"]
    stale = await client.get(table, headers={"If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200


async def test_a_broken_loop_connection_costs_one_load_a_thread_not_an_error(
    client: httpx.AsyncClient, server: CatalogServer, table: str
) -> None:
    first = await client.get(table)  # on a thread: the token and the body are new here
    warm = await client.get(table)  # on the loop: a connection of its own
    assert first.status_code == warm.status_code == 200
    assert server.database_url is not None
    assert _terminate_loop_connections(server.database_url) >= 1
    for _ in range(3):
        again = await client.get(table)
        assert again.status_code == 200
        assert again.content == first.content


async def test_the_loop_reads_connect_with_the_catalogs_database_url_as_libpq_reads_it(
    server: CatalogServer,
) -> None:
    """`connect_timeout` is libpq's own (asyncpg would send it to the server as a setting);
    other parameters, such as `application_name`, reach the server."""
    assert server.database_url is not None
    url = make_url(f"{server.database_url}?connect_timeout=5&application_name=icefloe_loop")
    reads = LoopReads(url)
    try:
        row = await reads.first(reads.prepare(select(func.current_setting("application_name"))), {})
    finally:
        reads.close()
    assert row[0] == "icefloe_loop"


class _CountedReads(LoopReads):
    """The loop's reads, noting how many keys each gathered statement carried."""

    def __init__(self, url: URL) -> None:
        super().__init__(url)
        self.batches: list[int] = []

    async def rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[Any]:
        self.batches.append(len(values["names"]))
        return await super().rows(prepared, values)


@pytest.fixture
async def pointers(server: CatalogServer) -> AsyncIterator[tuple[TablePointers, _CountedReads]]:
    assert server.database_url is not None
    engine = create_engine(server.database_url)
    reads = _CountedReads(engine.url)
    found = TablePointers(engine, on_loop=reads)
    yield found, reads
    found.close()
    engine.dispose()


def _named(table: str) -> tuple[str, tuple[str, ...], str]:
    parts = table.split("/")
    return parts[2], (parts[4],), parts[6]


async def test_loads_asked_for_while_a_read_is_out_are_read_together_each_with_its_own_row(
    server: CatalogServer, pointers: tuple[TablePointers, _CountedReads]
) -> None:
    found, reads = pointers
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    with server.rest_client() as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(http, namespace, "a")
        create_table(http, namespace, "b")
    wanted = [("a",), ("b",), ("missing",), ("a",), ("b",)]
    answers = await asyncio.gather(
        *(found.pointer_on_loop("default", (namespace,), name) for (name,) in wanted)
    )
    a, b = found.pointer("default", (namespace,), "a"), found.pointer("default", (namespace,), "b")
    assert a is not None and b is not None and a.object_id != b.object_id
    assert answers == [a, b, None, a, b]
    # the first read went at once on its own; the four asked for meanwhile went as one
    # statement, the same table asked for twice in it read once
    assert reads.batches == [3]


async def test_a_commit_through_the_other_process_is_seen_by_every_load_gathered_after_it(
    server: CatalogServer, pointers: tuple[TablePointers, _CountedReads], table: str
) -> None:
    found, reads = pointers
    warehouse, namespace, name = _named(table)

    async def versions() -> set[int | None]:
        loads = (found.pointer_on_loop(warehouse, namespace, name) for _ in range(4))
        return {None if p is None else p.version for p in await asyncio.gather(*loads)}

    before = await versions()
    with server.rest_client() as http:
        assert commit(http, namespace[0], name, [set_properties(seen="yes")]).status_code == 200
    after = await versions()
    assert reads.batches == [1, 1]  # each time one read alone, then the other three gathered
    assert len(before) == 1 and len(after) == 1
    (version,) = before
    assert version is not None and after == {version + 1}


async def test_a_load_cancelled_while_its_batch_is_out_leaves_the_others_answered(
    pointers: tuple[TablePointers, _CountedReads], table: str
) -> None:
    found, _ = pointers
    warehouse, namespace, name = _named(table)
    loads = [
        asyncio.ensure_future(found.pointer_on_loop(warehouse, namespace, name)) for _ in range(4)
    ]
    await asyncio.sleep(0)  # all four asked for: one read out, three waiting for the next
    loads[2].cancel()
    done = await asyncio.gather(*loads, return_exceptions=True)
    assert isinstance(done[2], asyncio.CancelledError)
    answered = [p for i, p in enumerate(done) if i != 2]
    assert all(isinstance(p, Pointer) and p.kind == "table" for p in answered)


async def test_the_loop_reads_plan_their_statements_once(server: CatalogServer) -> None:
    """A gathered read planned anew on every run cost the backend ~200 µs instead of ~10."""
    assert server.database_url is not None
    reads = LoopReads(make_url(server.database_url))
    try:
        row = await reads.first(reads.prepare(select(func.current_setting("plan_cache_mode"))), {})
    finally:
        reads.close()
    assert row[0] == "force_generic_plan"
