"""Many writers on one table: every append lands exactly once, no snapshot is lost, and the
metadata versions strictly increase — on SQLite, and on PostgreSQL with two server processes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer

WRITERS = 16
APPENDS_PER_WRITER = 3
RETRY_PROPERTIES = {
    "commit.retry.num-retries": "200",
    "commit.retry.min-wait-ms": "5",
    "commit.retry.max-wait-ms": "200",
    "commit.retry.total-timeout-ms": "600000",
}


def hammer(uris: list[str], token: str, identifier: str) -> None:
    def writer(index: int) -> None:
        catalog = RestCatalog(
            f"w{index}", uri=uris[index % len(uris)], warehouse="default", token=token
        )
        table = catalog.load_table(identifier)
        for round_ in range(APPENDS_PER_WRITER):
            value = index * 1000 + round_
            table.append(pa.table({"writer": pa.array([index], pa.int64()), "value": [value]}))

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))


def assert_every_append_landed_once(catalog: RestCatalog, identifier: str) -> None:
    table = catalog.load_table(identifier)
    values = sorted(table.scan().to_arrow().column("value").to_pylist())
    expected = sorted(w * 1000 + r for w in range(WRITERS) for r in range(APPENDS_PER_WRITER))
    assert values == expected
    appends = [s for s in table.snapshots() if s.summary and s.summary.operation.value == "append"]
    assert len(appends) == WRITERS * APPENDS_PER_WRITER
    versions = [
        int(entry.metadata_file.rsplit("/", 1)[-1].split("-", 1)[0])
        for entry in table.metadata.metadata_log
    ]
    assert versions == sorted(set(versions)), "metadata versions must strictly increase"


def create_target(catalog: RestCatalog, namespace: str) -> str:
    identifier = f"{namespace}.hot"
    catalog.create_table(
        identifier,
        schema=pa.schema([("writer", pa.int64()), ("value", pa.int64())]),
        properties={**RETRY_PROPERTIES, "write.metadata.previous-versions-max": "1000"},
    )
    return identifier


def test_sixteen_writers_on_one_table(
    catalog: RestCatalog, catalog_server: CatalogServer, namespace: str
) -> None:
    identifier = create_target(catalog, namespace)
    hammer([catalog_server.url], catalog_server.token, identifier)
    assert_every_append_landed_once(catalog, identifier)


@pytest.fixture
def two_servers_on_postgres(
    postgres: PostgresCluster, tmp_path: Path
) -> Iterator[list[CatalogServer]]:
    url = postgres.create_database()
    first = CatalogServer(tmp_path / "shared", url).start()
    second = CatalogServer(tmp_path / "shared", url).start()
    yield [first, second]
    first.stop()
    second.stop()


def test_sixteen_writers_through_two_server_processes_sharing_postgres(
    two_servers_on_postgres: list[CatalogServer],
) -> None:
    uris = [server.url for server in two_servers_on_postgres]
    token = two_servers_on_postgres[0].token
    catalog = RestCatalog("check", uri=uris[0], warehouse="default", token=token)
    catalog.create_namespace("shared")
    identifier = create_target(catalog, "shared")
    hammer(uris, token, identifier)
    assert_every_append_landed_once(catalog, identifier)
