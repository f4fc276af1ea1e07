"""Shared fixtures: real catalog servers (SQLite and PostgreSQL) and real clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.postgres import PostgresCluster, find_pg_bin
from tests.support.server import CatalogServer

BACKENDS = ["sqlite", "postgres"]
# The shared servers keep their access lines (catalog and embedded store): a failure's report
# then shows what the server refused and why (`pytest_runtest_makereport` below).
SHARED_SERVER_ENV = {"ICEFLOE_LOG_LEVEL": "INFO"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "call" or not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, CatalogServer):
            report.sections.append((f"server {value.url}: refusals and errors", value.trouble()))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if find_pg_bin() is None:
        pytest.fail("PostgreSQL is not installed: run the suite through ./dev test")
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


def database_url_for(backend: str, request: pytest.FixtureRequest) -> str | None:
    if backend == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.create_database()
    return None


@pytest.fixture(scope="session", params=BACKENDS)
def catalog_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    backend = request.param
    server = CatalogServer(
        tmp_path_factory.mktemp(f"catalog-{backend}"),
        database_url_for(backend, request),
        env=SHARED_SERVER_ENV,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """A server whose default warehouse lives on its embedded S3 store (the product default)."""
    server = CatalogServer(
        tmp_path_factory.mktemp("catalog-embedded"), storage="embedded", env=SHARED_SERVER_ENV
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def catalog(catalog_server: CatalogServer) -> RestCatalog:
    return RestCatalog(
        "icefloe", uri=catalog_server.url, warehouse="default", token=catalog_server.token
    )


@pytest.fixture
def http(catalog_server: CatalogServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{catalog_server.url}/v1/default",
        headers=catalog_server.auth_headers,
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
def namespace(catalog: RestCatalog) -> str:
    """A fresh namespace per test, so tests sharing a server never see each other."""
    name = f"ns_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(name)
    return name


@pytest.fixture
def warehouse_root(catalog_server: CatalogServer) -> Path:
    return catalog_server.data_dir / "warehouse" / "default"


@pytest.fixture
def pyiceberg(embedded_server: CatalogServer) -> RestCatalog:
    """PyIceberg on the embedded-store server: data files with vended credentials."""
    return RestCatalog(
        "icefloe", uri=embedded_server.url, warehouse="default", token=embedded_server.token
    )


@pytest.fixture
def ns(pyiceberg: RestCatalog) -> str:
    """A fresh namespace on the embedded-store server."""
    name = f"e_{uuid.uuid4().hex[:10]}"
    pyiceberg.create_namespace(name)
    return name
