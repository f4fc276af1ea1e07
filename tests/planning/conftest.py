"""One server for every planning test (embedded S3 store, vended credentials), and two PyIceberg
clients on it: one planning on the server, one planning itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.server import CatalogServer

# Small pages, so that tests of a few dozen manifests see plan tasks and `submitted`.
SUBMIT_MANIFESTS = 24
TASK_MANIFESTS = 8


@pytest.fixture(scope="package")
def planning_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    server = CatalogServer(
        tmp_path_factory.mktemp("catalog-planning"),
        storage="embedded",
        env={
            "ICEFLOE_PLANNING_SUBMIT_MANIFESTS": str(SUBMIT_MANIFESTS),
            "ICEFLOE_PLANNING_TASK_MANIFESTS": str(TASK_MANIFESTS),
        },
    )
    server.start()
    yield server
    server.stop()


def _catalog(server: CatalogServer, mode: str) -> RestCatalog:
    return RestCatalog(
        f"icefloe-{mode}",
        uri=server.url,
        warehouse="default",
        token=server.token,
        **{"scan-planning-mode": mode},
    )


@pytest.fixture(scope="package")
def server_planned(planning_server: CatalogServer) -> RestCatalog:
    """PyIceberg planning its scans on the server (planTableScan, fetchScanTasks). It falls
    back to planning itself when the config does not list the plan endpoint: checked here, so
    no comparison can pass by comparing the client with itself."""
    catalog = _catalog(planning_server, "server")
    assert catalog.supports_server_side_planning()
    return catalog


@pytest.fixture(scope="package")
def client_planned(planning_server: CatalogServer) -> RestCatalog:
    """PyIceberg planning its scans itself, from the same tables."""
    return _catalog(planning_server, "client")


@pytest.fixture
def space(client_planned: RestCatalog) -> str:
    name = f"p_{uuid.uuid4().hex[:10]}"
    client_planned.create_namespace(name)
    return name


@pytest.fixture
def api(planning_server: CatalogServer) -> Iterator[httpx.Client]:
    with planning_server.rest_client() as client:
        yield client
