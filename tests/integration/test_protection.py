"""Deletion protection: `icefloe.protected=true` on a table, view or namespace stops every way
of making it go away, for everyone, until an admin clears it (docs/governance.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import ForbiddenError

from tests.support.error_model import assert_error
from tests.support.governance import admin, audit_operations, icefloe, trash
from tests.support.payloads import SCHEMA
from tests.support.server import CatalogServer

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "city": ["Oslo", "Lima", "Pune"]})
PROTECTED = "icefloe.protected"


@pytest.fixture
def writer_token(catalog_server: CatalogServer) -> str:
    with admin(catalog_server) as client:
        created = client.post(
            "/tokens",
            json={"name": "writer", "permission": "read-write", "warehouses": ["default"]},
        )
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


@pytest.fixture
def clients(catalog_server: CatalogServer, writer_token: str) -> Iterator[dict[str, httpx.Client]]:
    """The catalog API as the admin and as a warehouse-wide writer."""
    made = {
        who: httpx.Client(
            base_url=f"{catalog_server.url}/v1/default",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        for who, token in (("admin", catalog_server.token), ("writer", writer_token))
    }
    yield made
    for client in made.values():
        client.close()


def protect(server: CatalogServer, path: str, on: bool = True) -> None:
    with admin(server) as client:
        answer = (client.put if on else client.delete)(
            f"/warehouses/default/namespaces/{path}/protection"
        )
    assert answer.status_code == 204, answer.text


def set_properties(client: httpx.Client, namespace: str, table: str, **updates: Any) -> Any:
    return client.post(
        f"/namespaces/{namespace}/tables/{table}",
        json={"requirements": [], "updates": [{"action": "set-properties", "updates": updates}]},
    )


def remove_properties(namespace: list[str], table: str, *removals: str) -> dict[str, Any]:
    return {
        "identifier": {"namespace": namespace, "name": table},
        "requirements": [],
        "updates": [{"action": "remove-properties", "removals": list(removals)}],
    }


def pointer(client: httpx.Client, namespace: str, table: str) -> str:
    loaded = client.get(f"/namespaces/{namespace}/tables/{table}")
    assert loaded.status_code == 200, loaded.text
    location: str = loaded.json()["metadata-location"]
    return location


def test_a_protected_table_cannot_be_dropped_purged_renamed_or_unregistered_by_anyone(
    catalog_server: CatalogServer,
    catalog: RestCatalog,
    namespace: str,
    clients: dict[str, httpx.Client],
) -> None:
    catalog.create_table(f"{namespace}.t", schema=ROWS.schema).append(ROWS)
    protect(catalog_server, f"{namespace}/tables/t")
    assert catalog.load_table(f"{namespace}.t").properties[PROTECTED] == "true"
    location = pointer(clients["admin"], namespace, "t")
    in_trash = len(trash(catalog_server))

    for who, client in clients.items():
        table = f"/namespaces/{namespace}/tables/t"
        attempts = {
            "dropped": client.delete(table),
            "purged": client.delete(table, params={"purgeRequested": "true"}),
            "renamed": client.post(
                "/tables/rename",
                json={
                    "source": {"namespace": [namespace], "name": "t"},
                    "destination": {"namespace": [namespace], "name": "moved"},
                },
            ),
            "unregistered": client.post(f"{table}/unregister"),
        }
        for action, answer in attempts.items():
            message = assert_error(answer, 403, "ForbiddenException")
            assert f"{namespace}.t is protected" in message, (who, message)
            assert action in message, (who, message)
    with pytest.raises(ForbiddenError, match="protected"):
        catalog.drop_table(f"{namespace}.t")

    assert pointer(clients["admin"], namespace, "t") == location
    assert catalog.load_table(f"{namespace}.t").scan().to_arrow().num_rows == 3
    assert len(trash(catalog_server)) == in_trash

    protect(catalog_server, f"{namespace}/tables/t", on=False)
    assert PROTECTED not in catalog.load_table(f"{namespace}.t").properties
    catalog.drop_table(f"{namespace}.t")
    assert not catalog.table_exists(f"{namespace}.t")
    operations = audit_operations(catalog_server)
    assert ("protectTable", f"default/{namespace}/t") in operations
    assert ("unprotectTable", f"default/{namespace}/t") in operations


def test_a_recursive_drop_and_a_transaction_stop_before_touching_anything(
    catalog_server: CatalogServer,
    catalog: RestCatalog,
    namespace: str,
    clients: dict[str, httpx.Client],
) -> None:
    catalog.create_namespace((namespace, "child"))
    catalog.create_table(f"{namespace}.plain", schema=ROWS.schema)
    catalog.create_table((namespace, "child", "kept"), schema=ROWS.schema)
    protect(catalog_server, f"{namespace}%1Fchild/tables/kept")
    in_trash = len(trash(catalog_server))

    with admin(catalog_server) as client:
        refused = client.delete(f"/warehouses/default/namespaces/{namespace}")
    assert f"{namespace}.child.kept is protected" in assert_error(refused, 403)
    assert catalog.table_exists(f"{namespace}.plain")
    assert catalog.table_exists((namespace, "child", "kept"))
    assert len(trash(catalog_server)) == in_trash

    plain = pointer(clients["admin"], namespace, "plain")
    transaction = {
        "table-changes": [
            {
                "identifier": {"namespace": [namespace], "name": "plain"},
                "requirements": [],
                "updates": [{"action": "set-properties", "updates": {"a": "1"}}],
            },
            remove_properties([namespace, "child"], "kept", PROTECTED),
        ]
    }
    refused = clients["writer"].post("/transactions/commit", json=transaction)
    assert PROTECTED in assert_error(refused, 403, "ForbiddenException")
    assert pointer(clients["admin"], namespace, "plain") == plain

    # An admin may clear the mark, in a transaction like anywhere else; then the drop works.
    cleared = clients["admin"].post("/transactions/commit", json=transaction)
    assert cleared.status_code == 204, cleared.text
    with admin(catalog_server) as client:
        dropped = client.delete(f"/warehouses/default/namespaces/{namespace}")
    assert dropped.status_code == 200, dropped.text


def test_only_an_admin_may_set_or_clear_the_property(
    catalog_server: CatalogServer, namespace: str, clients: dict[str, httpx.Client]
) -> None:
    writer, boss = clients["writer"], clients["admin"]
    assert (
        writer.post(
            f"/namespaces/{namespace}/tables", json={"name": "t", "schema": SCHEMA}
        ).status_code
        == 200
    )
    before = pointer(boss, namespace, "t")

    refusals = [
        set_properties(writer, namespace, "t", **{PROTECTED: "true"}),
        writer.post(
            f"/namespaces/{namespace}/tables",
            json={"name": "u", "schema": SCHEMA, "properties": {PROTECTED: "true"}},
        ),
        writer.post(
            "/namespaces",
            json={"namespace": [namespace, "n"], "properties": {PROTECTED: "true"}},
        ),
        writer.post(f"/namespaces/{namespace}/properties", json={"updates": {PROTECTED: "true"}}),
    ]
    for refused in refusals:
        assert "Only a catalog admin" in assert_error(refused, 403, "ForbiddenException")
    assert pointer(boss, namespace, "t") == before
    assert writer.get(f"/namespaces/{namespace}/tables/u").status_code == 404

    assert set_properties(boss, namespace, "t", **{PROTECTED: "true"}).status_code == 200
    cleared = writer.post(
        "/transactions/commit",
        json={"table-changes": [remove_properties([namespace], "t", PROTECTED)]},
    )
    assert_error(cleared, 403, "ForbiddenException")
    assert_error(writer.delete(f"/namespaces/{namespace}/tables/t"), 403, "ForbiddenException")
    # Other properties stay the writer's to change.
    assert set_properties(writer, namespace, "t", owner="ana").status_code == 200


def test_a_protected_namespace_and_a_protected_view_stay(
    catalog_server: CatalogServer, namespace: str, clients: dict[str, httpx.Client]
) -> None:
    boss = clients["admin"]
    view = {
        "name": "v",
        "schema": SCHEMA,
        "view-version": {
            "version-id": 1,
            "schema-id": 0,
            "timestamp-ms": 1,
            "summary": {},
            "representations": [{"type": "sql", "sql": "SELECT 1", "dialect": "spark"}],
            "default-namespace": [],
        },
    }
    assert boss.post(f"/namespaces/{namespace}/views", json=view).status_code == 200
    assert boss.post("/namespaces", json={"namespace": [namespace, "empty"]}).status_code == 200
    protect(catalog_server, f"{namespace}/views/v")
    protect(catalog_server, f"{namespace}%1Fempty")

    assert "is protected" in assert_error(boss.delete(f"/namespaces/{namespace}/views/v"), 403)
    renamed = boss.post(
        "/views/rename",
        json={
            "source": {"namespace": [namespace], "name": "v"},
            "destination": {"namespace": [namespace], "name": "w"},
        },
    )
    assert_error(renamed, 403, "ForbiddenException")
    assert "is protected" in assert_error(boss.delete(f"/namespaces/{namespace}%1Fempty"), 403)
    assert boss.get(f"/namespaces/{namespace}/views/v").status_code == 200

    protect(catalog_server, f"{namespace}/views/v", on=False)
    protect(catalog_server, f"{namespace}%1Fempty", on=False)
    assert boss.delete(f"/namespaces/{namespace}/views/v").status_code == 204
    assert boss.delete(f"/namespaces/{namespace}%1Fempty").status_code == 204


def test_the_cli_protects_and_unprotects(
    catalog_server: CatalogServer, catalog: RestCatalog, namespace: str
) -> None:
    catalog.create_table(f"{namespace}.t", schema=ROWS.schema)

    protected = icefloe(catalog_server, "protect", f"{namespace}.t")

    assert protected.returncode == 0, protected.stdout + protected.stderr
    with pytest.raises(ForbiddenError, match="protected"):
        catalog.drop_table(f"{namespace}.t")
    assert icefloe(catalog_server, "unprotect", f"{namespace}.t").returncode == 0
    catalog.drop_table(f"{namespace}.t")
    assert ("protectTable", f"default/{namespace}/t") in audit_operations(catalog_server)
