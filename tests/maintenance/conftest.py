"""Fixtures for maintenance tests: a real server, PyIceberg over HTTP, and the engine run
in-process against the server's own database and storage (as the control plane will)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table import Table

from catalog.maintenance.engine import context_from_settings
from catalog.service.context import ServiceContext
from catalog.settings import Settings
from tests.support.server import CatalogServer


def engine_context(server: CatalogServer) -> ServiceContext:
    settings = Settings(
        data_dir=server.data_dir, database_url=server.database_url, s3_port=server.s3_port
    )
    return context_from_settings(settings)


def rest_catalog(server: CatalogServer) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)


@pytest.fixture(scope="session")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    server = CatalogServer(tmp_path_factory.mktemp("maintenance-file"), storage="file")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def context(file_server: CatalogServer) -> Iterator[ServiceContext]:
    context = engine_context(file_server)
    yield context
    context.store.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def file_catalog(file_server: CatalogServer) -> RestCatalog:
    return rest_catalog(file_server)


@pytest.fixture
def file_namespace(file_catalog: RestCatalog) -> str:
    name = f"ns_{uuid.uuid4().hex[:10]}"
    file_catalog.create_namespace(name)
    return name


def local(location: str) -> Path:
    assert location.startswith("file://"), location
    return Path(location.removeprefix("file://"))


def add_small_files(table: Table, batches: list[pa.Table]) -> None:
    """Many small data files in one commit: each batch written as its own Parquet file under
    the table's data folder, then registered with `add_files`."""
    folder = local(table.location()) / "data" / f"seed-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    paths = []
    for index, batch in enumerate(batches):
        path = folder / f"part-{index:05d}.parquet"
        pq.write_table(batch, path)
        paths.append(path.as_uri())
    table.add_files(paths)


def sorted_rows(rows: pa.Table, key: str = "id") -> list[dict[str, object]]:
    return sorted(rows.to_pylist(), key=lambda row: row[key])  # type: ignore[arg-type,return-value]
