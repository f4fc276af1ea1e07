"""The governance admin API (trash, undrop, protection) as tests call it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import httpx
from pyiceberg.catalog.rest import RestCatalog

from tests.support.server import CatalogServer


def admin(server: CatalogServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else server.auth_headers
    return httpx.Client(base_url=f"{server.url}/admin/v1", headers=headers, timeout=60)


def new_warehouse(server: CatalogServer, retention_seconds: int | None = None) -> str:
    """A warehouse of its own on local disk, so a test's retention changes nobody else's."""
    name = f"t{uuid.uuid4().hex[:10]}"
    location = (server.data_dir / "warehouse" / name).as_uri()
    properties = {}
    if retention_seconds is not None:
        properties["icefloe.trash.retention-seconds"] = str(retention_seconds)
    with admin(server) as client:
        created = client.post(
            "/warehouses", json={"name": name, "location": location, "properties": properties}
        )
        assert created.status_code == 201, created.text
    return name


def lake(
    server: CatalogServer, warehouse: str = "default", token: str | None = None
) -> RestCatalog:
    return RestCatalog(
        f"icefloe-{warehouse}", uri=server.url, warehouse=warehouse, token=token or server.token
    )


def trash(server: CatalogServer, warehouse: str = "default") -> list[dict[str, Any]]:
    with admin(server) as client:
        listed = client.get(f"/warehouses/{warehouse}/trash")
    assert listed.status_code == 200, listed.text
    entries: list[dict[str, Any]] = listed.json()["entries"]
    return entries


def undrop(
    server: CatalogServer,
    identifier: str,
    warehouse: str = "default",
    rename_to: str | None = None,
    kind: str | None = None,
) -> httpx.Response:
    *namespace, name = identifier.split(".")
    body: dict[str, Any] = {"namespace": namespace, "name": name}
    if kind is not None:
        body["kind"] = kind
    if rename_to is not None:
        *as_namespace, as_name = rename_to.split(".")
        body["as"] = {"namespace": as_namespace, "name": as_name}
    with admin(server) as client:
        return client.post(f"/warehouses/{warehouse}/trash/undrop", json=body)


def expire_now(server: CatalogServer) -> list[dict[str, Any]]:
    """The scheduler's trash pass, run now."""
    with admin(server) as client:
        done = client.post("/trash/expire")
    assert done.status_code == 200, done.text
    expired: list[dict[str, Any]] = done.json()["expired"]
    return expired


def audit_operations(server: CatalogServer, limit: int = 200) -> list[tuple[str, str]]:
    with admin(server) as client:
        events = client.get("/audit", params={"limit": limit}).json()["events"]
    return [(event["operation"], event["target"]) for event in events]


def set_retention(server: CatalogServer, seconds: int, warehouse: str = "default") -> None:
    with admin(server) as client:
        answer = client.put(
            f"/warehouses/{warehouse}/trash/retention", json={"retention-seconds": seconds}
        )
    assert answer.status_code == 200, answer.text


def purge_through_trash(server: CatalogServer, identifier: str, warehouse: str = "default") -> None:
    """`purge_table`, then the end of its time in the trash: what `purge_table` did at once
    before there was a trash. The warehouse's retention is back to the default afterwards."""
    lake(server, warehouse).purge_table(identifier)
    set_retention(server, 0, warehouse)
    try:
        expire_now(server)
    finally:
        set_retention(server, 7 * 86400, warehouse)


def icefloe(server: CatalogServer, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "catalog", *args, "--data-dir", str(server.data_dir)]
    if server.database_url:
        command += ["--database-url", server.database_url]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", "ICEFLOE_LOG_LEVEL": "WARNING"},
    )
