"""Helpers for the control-plane tests: tables with many small files, and admin API paths."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table import Table

from tests.support.server import CatalogServer

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def rest(server: CatalogServer) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)


def small_files_table(
    catalog: RestCatalog, files: int, properties: dict[str, str] | None = None
) -> Table:
    """A new table whose current snapshot holds `files` small data files (one per append)."""
    namespace = f"mc_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(namespace)
    table: Table = catalog.create_table(
        f"{namespace}.t", schema=SCHEMA, properties=properties or {}
    )
    for index in range(files):
        table.append(pa.table({"id": [index], "name": [f"row {index}"]}, schema=SCHEMA))
    return table


def table_path(table: Table) -> str:
    namespace, name = table.name()[:-1], table.name()[-1]
    return f"/admin/v1/warehouses/default/namespaces/{'%1F'.join(namespace)}/tables/{name}"


def admin(server: CatalogServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=120)


def runs_of(server: CatalogServer, table: Table, **params: Any) -> list[dict[str, Any]]:
    namespace, name = table.name()[:-1], table.name()[-1]
    with admin(server) as http:
        response = http.get(
            "/admin/v1/maintenance/runs",
            params={"warehouse": "default", "namespace": "\x1f".join(namespace), "table": name}
            | params,
        )
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


def metadata_location(server: CatalogServer, table: Table) -> str:
    namespace, name = table.name()[:-1], table.name()[-1]
    with admin(server) as http:
        response = http.get(f"/v1/default/namespaces/{'%1F'.join(namespace)}/tables/{name}")
    assert response.status_code == 200, response.text
    location: str = response.json()["metadata-location"]
    return location
