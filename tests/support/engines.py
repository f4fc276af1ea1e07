"""Engines connected the way the README shows: its named snippets, run as written with only the
server's address, token file and client credentials put in by plain string replacement."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx

from tests.support import duckdb_iceberg
from tests.support.readme import snippet
from tests.support.server import CatalogServer

README_URI = "http://127.0.0.1:8181"
README_TOKEN_FILE = "icefloe-data/admin.token"
README_CLIENT_ID = "<client-id>"
README_CLIENT_SECRET = "<client-secret>"
PRODUCTION_URI = "https://catalog.example.com"
PRODUCTION_TOKEN = "<token>"
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}


@dataclass(frozen=True)
class Client:
    """An API token as OAuth2 client credentials: the token's id and its secret part."""

    id: str
    secret: str
    bearer: str


def create_token(server: CatalogServer, permission: str, warehouse: str = "default") -> Client:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={"name": f"clients-{permission}", "permission": permission, "warehouses": [warehouse]},
        headers=server.auth_headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    # `icefloe token create` prints icefloe_<id>_<secret>; the README says which part is which
    prefix = f"icefloe_{body['id']}_"
    assert body["token"].startswith(prefix)
    return Client(id=body["id"], secret=body["token"].removeprefix(prefix), bearer=body["token"])


def create_embedded_warehouse(server: CatalogServer, name: str) -> None:
    response = httpx.post(
        f"{server.url}/admin/v1/warehouses",
        json={"name": name, "location": f"s3://{name}", "storage": {"type": "embedded"}},
        headers=server.auth_headers,
        timeout=30,
    )
    assert response.status_code in (201, 409), response.text


def filled_in(name: str, replacements: dict[str, str]) -> str:
    """The README block `name` with each placeholder replaced; a placeholder the block no
    longer contains fails the test instead of silently running something else."""
    text = snippet(name)
    for placeholder, value in replacements.items():
        assert placeholder in text, f"README snippet {name!r} no longer contains {placeholder!r}"
        text = text.replace(placeholder, value)
    return text


def local_replacements(server: CatalogServer, token_file: Path | None = None) -> dict[str, str]:
    return {
        README_URI: server.url,
        README_TOKEN_FILE: str(token_file or server.data_dir / "admin.token"),
    }


def oauth_replacements(server: CatalogServer, client: Client) -> dict[str, str]:
    return {
        README_URI: server.url,
        README_CLIENT_ID: client.id,
        README_CLIENT_SECRET: client.secret,
    }


def run_python(
    name: str, replacements: dict[str, str], scope: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs a README Python block and returns its namespace: a fresh one, or `scope` for a
    block that continues an earlier one (it uses the names that one defined)."""
    names: dict[str, Any] = {"__name__": "readme"} if scope is None else scope
    exec(compile(filled_in(name, replacements), f"README.md:{name}", "exec"), names)
    return names


def run_sql(
    name: str, replacements: dict[str, str]
) -> tuple[duckdb.DuckDBPyConnection, list[tuple[Any, ...]]]:
    """Runs a README DuckDB block on a fresh connection (extensions loaded from the pinned
    wheels, as DuckDB would autoload them online); returns it and the last statement's rows."""
    connection = duckdb_iceberg.connect()
    rows = connection.execute(filled_in(name, replacements)).fetchall()
    return connection, rows


def arrow_rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """Rows as Python values through Arrow: DuckDB's own fetchall() needs pytz for timestamptz,
    and Arrow gives the same value types PyIceberg's to_arrow() does."""
    rows: list[dict[str, Any]] = connection.execute(sql).to_arrow_table().to_pylist()
    return rows
