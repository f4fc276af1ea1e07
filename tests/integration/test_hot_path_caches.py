"""loadTable's short-lived caches (the token row, the warehouse row) never serve a stale answer
where it matters: a rotated secret or a revoked token stops at once in the process that changed
it and within the cache window in another; a warehouse deleted and re-created under the same
name serves its new tables at once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from tests.support.payloads import create_table
from tests.support.server import CatalogServer

WINDOW_SECONDS = 1.0  # catalog.service.tokens.TOKEN_CACHE_SECONDS


def _token(server: CatalogServer) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={"name": "cached", "permission": "read-only", "warehouses": ["default"]},
        headers=server.auth_headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


def _namespaces(server: CatalogServer, bearer: str) -> int:
    return httpx.get(
        f"{server.url}/v1/default/namespaces",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    ).status_code


def test_rotated_secret_stops_working_on_the_next_request(catalog_server: CatalogServer) -> None:
    token = _token(catalog_server)
    assert _namespaces(catalog_server, token["token"]) == 200  # now in the cache
    rotated = httpx.post(
        f"{catalog_server.url}/admin/v1/tokens/{token['id']}/rotate",
        headers=catalog_server.auth_headers,
        timeout=30,
    )
    assert rotated.status_code == 200, rotated.text
    assert _namespaces(catalog_server, token["token"]) == 401
    assert _namespaces(catalog_server, rotated.json()["token"]) == 200


def test_revoking_through_another_process_reaches_this_one_within_the_window(
    catalog_server: CatalogServer,
) -> None:
    other = CatalogServer(catalog_server.data_dir, catalog_server.database_url).start()
    try:
        token = _token(catalog_server)
        assert _namespaces(other, token["token"]) == 200  # cached in the other process
        revoked = httpx.delete(
            f"{catalog_server.url}/admin/v1/tokens/{token['id']}",
            headers=catalog_server.auth_headers,
            timeout=30,
        )
        assert revoked.status_code == 204
        revoked_at = time.monotonic()
        assert _namespaces(catalog_server, token["token"]) == 401
        while _namespaces(other, token["token"]) == 200:
            # Generous against a loaded machine; an entry that never expired would hang here.
            assert time.monotonic() - revoked_at < WINDOW_SECONDS + 30
            time.sleep(0.05)
    finally:
        other.stop()


def test_warehouse_recreated_under_the_same_name_serves_its_new_tables_at_once(
    catalog_server: CatalogServer, tmp_path: Path
) -> None:
    name = f"wh_{uuid.uuid4().hex[:8]}"
    admin = httpx.Client(
        base_url=f"{catalog_server.url}/admin/v1", headers=catalog_server.auth_headers, timeout=30
    )
    catalog = httpx.Client(
        base_url=f"{catalog_server.url}/v1/{name}", headers=catalog_server.auth_headers, timeout=30
    )
    with admin, catalog:
        for generation in ("first", "second"):
            location = (tmp_path / generation).as_uri()
            created = admin.post("/warehouses", json={"name": name, "location": location})
            assert created.status_code == 201, created.text
            # without a trash: a warehouse is deleted only when nothing is left in it
            no_trash = {"retention-seconds": 0}
            retention = admin.put(f"/warehouses/{name}/trash/retention", json=no_trash)
            assert retention.status_code in (200, 204), retention.text
            assert catalog.post("/namespaces", json={"namespace": ["ns"]}).status_code == 200
            create_table(catalog, "ns", "t")
            loaded = catalog.get("/namespaces/ns/tables/t")
            assert loaded.status_code == 200, loaded.text
            assert loaded.json()["metadata"]["location"].startswith(location)
            assert catalog.delete("/namespaces/ns/tables/t").status_code == 204
            assert catalog.delete("/namespaces/ns").status_code == 204
            assert admin.delete(f"/warehouses/{name}").status_code == 204
            gone = catalog.get("/namespaces/ns/tables/t")
            assert gone.status_code == 404
            assert gone.json()["error"]["type"] == "NoSuchWarehouseException"
