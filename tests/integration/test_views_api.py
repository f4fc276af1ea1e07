"""Views over HTTP: create, replace (commit), rename, register, and their errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.payloads import SCHEMA, create_table


def version(sql: str, schema_id: int = 0, dialect: str = "spark") -> dict[str, Any]:
    return {
        "version-id": 1,
        "schema-id": schema_id,
        "timestamp-ms": 1_700_000_000_000,
        "summary": {"engine-name": "test"},
        "representations": [{"type": "sql", "sql": sql, "dialect": dialect}],
        "default-namespace": [],
    }


def create_view(
    http: httpx.Client, namespace: str, name: str, sql: str = "SELECT 1"
) -> httpx.Response:
    return http.post(
        f"/namespaces/{namespace}/views",
        json={"name": name, "schema": SCHEMA, "view-version": version(sql), "properties": {}},
    )


def test_create_and_load(http: httpx.Client, namespace: str) -> None:
    created = create_view(http, namespace, "v")
    assert created.status_code == 200, created.text
    metadata = created.json()["metadata"]
    assert metadata["format-version"] == 1
    assert metadata["current-version-id"] == 1
    assert [entry["version-id"] for entry in metadata["version-log"]] == [1]
    loaded = http.get(f"/namespaces/{namespace}/views/v")
    assert loaded.json()["metadata-location"] == created.json()["metadata-location"]
    assert http.head(f"/namespaces/{namespace}/views/v").status_code == 204
    assert create_view(http, namespace, "v").status_code == 409


def test_replace_adds_a_version_and_moves_current(http: httpx.Client, namespace: str) -> None:
    created = create_view(http, namespace, "v").json()
    view_uuid = created["metadata"]["view-uuid"]
    replaced = http.post(
        f"/namespaces/{namespace}/views/v",
        json={
            "requirements": [{"type": "assert-view-uuid", "uuid": view_uuid}],
            "updates": [
                {"action": "add-view-version", "view-version": version("SELECT 2")},
                {"action": "set-current-view-version", "view-version-id": -1},
                {"action": "set-properties", "updates": {"comment": "two"}},
            ],
        },
    )
    assert replaced.status_code == 200, replaced.text
    metadata = replaced.json()["metadata"]
    assert metadata["current-version-id"] == 2
    assert [v["version-id"] for v in metadata["versions"]] == [1, 2]
    assert metadata["properties"]["comment"] == "two"
    assert replaced.json()["metadata-location"] != created["metadata-location"]


def test_replace_with_wrong_uuid_is_refused_and_view_unchanged(
    http: httpx.Client, namespace: str
) -> None:
    create_view(http, namespace, "v")
    before = http.get(f"/namespaces/{namespace}/views/v").json()
    refused = http.post(
        f"/namespaces/{namespace}/views/v",
        json={
            "requirements": [{"type": "assert-view-uuid", "uuid": "not-this-one"}],
            "updates": [{"action": "set-properties", "updates": {"x": "1"}}],
        },
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "CommitFailedException"
    assert http.get(f"/namespaces/{namespace}/views/v").json() == before


def test_invalid_view_updates_are_bad_requests(http: httpx.Client, namespace: str) -> None:
    create_view(http, namespace, "v")
    for updates in (
        [{"action": "set-current-view-version", "view-version-id": 99}],
        [{"action": "add-view-version", "view-version": version("SELECT 3", schema_id=7)}],
        [{"action": "upgrade-format-version", "format-version": 2}],
        [{"action": "add-spec", "spec": {"spec-id": 1, "fields": []}}],
    ):
        response = http.post(f"/namespaces/{namespace}/views/v", json={"updates": updates})
        assert response.status_code == 400, (updates, response.text)


def test_rename_view_and_name_clashes_with_tables(http: httpx.Client, namespace: str) -> None:
    create_view(http, namespace, "v")
    create_table(http, namespace, "t")

    def rename(source: str, target: str) -> httpx.Response:
        return http.post(
            "/views/rename",
            json={
                "source": {"namespace": [namespace], "name": source},
                "destination": {"namespace": [namespace], "name": target},
            },
        )

    clash = rename("v", "t")
    assert clash.status_code == 409
    assert rename("t", "x").status_code == 404, "a table is not a view"
    assert rename("v", "w").status_code == 204
    assert http.head(f"/namespaces/{namespace}/views/w").status_code == 204
    assert http.get(f"/namespaces/{namespace}/views/v").json()["error"]["type"] == (
        "NoSuchViewException"
    )


def test_drop_and_register_view(http: httpx.Client, namespace: str) -> None:
    location = create_view(http, namespace, "v").json()["metadata-location"]
    assert http.delete(f"/namespaces/{namespace}/views/v").status_code == 204
    assert http.delete(f"/namespaces/{namespace}/views/v").status_code == 404
    registered = http.post(
        f"/namespaces/{namespace}/register-view",
        json={"name": "back", "metadata-location": location},
    )
    assert registered.status_code == 200, registered.text
    listed = http.get(f"/namespaces/{namespace}/views").json()
    assert listed["identifiers"] == [{"namespace": [namespace], "name": "back"}]


def test_table_endpoints_do_not_serve_views(http: httpx.Client, namespace: str) -> None:
    create_view(http, namespace, "v")
    assert http.get(f"/namespaces/{namespace}/tables/v").status_code == 404
    assert http.delete(f"/namespaces/{namespace}/tables/v").status_code == 404
    assert http.get(f"/namespaces/{namespace}/tables").json()["identifiers"] == []
