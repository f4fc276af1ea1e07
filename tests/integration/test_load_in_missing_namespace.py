"""loadTable and loadView answer NoSuchTable/NoSuchView (the spec's only 404 for them) even
when the namespace is missing: Java clients (Spark) read `ns.t.snapshots` as a metadata table
of `ns.t` only after NoSuchTableException for table `snapshots` in namespace `ns.t`."""

from __future__ import annotations

import httpx

from tests.support.payloads import SCHEMA


def test_load_table_in_a_missing_namespace_is_no_such_table(
    http: httpx.Client, namespace: str
) -> None:
    created = http.post(f"/namespaces/{namespace}/tables", json={"name": "t", "schema": SCHEMA})
    assert created.status_code == 200, created.text
    metadata_table = http.get(f"/namespaces/{namespace}%1Ft/tables/snapshots")
    assert metadata_table.status_code == 404
    assert metadata_table.json()["error"]["type"] == "NoSuchTableException"
    assert http.get(f"/namespaces/{namespace}/tables/t").status_code == 200


def test_load_view_in_a_missing_namespace_is_no_such_view(http: httpx.Client) -> None:
    response = http.get("/namespaces/no_such_namespace/views/v")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NoSuchViewException"


def test_other_operations_still_name_the_missing_namespace(http: httpx.Client) -> None:
    listing = http.get("/namespaces/no_such_namespace/tables")
    assert listing.status_code == 404
    assert listing.json()["error"]["type"] == "NoSuchNamespaceException"
    dropped = http.delete("/namespaces/no_such_namespace/tables/t")
    assert dropped.status_code == 404
    assert dropped.json()["error"]["type"] == "NoSuchNamespaceException"
