"""The table endpoints over HTTP: create, load (ETag, snapshots=refs), exists, drop, rename,
register, unregister, metrics — and the errors each answers with."""

from __future__ import annotations

import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog

from tests.support.payloads import SCHEMA, commit, create_table, set_properties


def test_create_returns_metadata_with_fresh_ids_and_location(
    http: httpx.Client, namespace: str
) -> None:
    body = create_table(http, namespace, "t", properties={"owner": "ana"})
    metadata = body["metadata"]
    assert body["metadata-location"].endswith(".metadata.json")
    assert metadata["format-version"] == 2
    assert metadata["properties"]["owner"] == "ana"
    assert metadata["location"].rsplit("/", 1)[-1].startswith("t-")
    assert [f["name"] for f in metadata["schemas"][0]["fields"]] == ["id", "city"]


def test_create_twice_is_already_exists(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    again = http.post(f"/namespaces/{namespace}/tables", json={"name": "t", "schema": SCHEMA})
    assert again.status_code == 409
    assert again.json()["error"]["type"] == "AlreadyExistsException"


def test_create_in_missing_namespace_is_not_found(http: httpx.Client) -> None:
    response = http.post("/namespaces/nowhere/tables", json={"name": "t", "schema": SCHEMA})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NoSuchNamespaceException"


def test_explicit_location_must_lie_in_the_warehouse(http: httpx.Client, namespace: str) -> None:
    outside = http.post(
        f"/namespaces/{namespace}/tables",
        json={"name": "t", "schema": SCHEMA, "location": "file:///etc/icefloe"},
    )
    assert outside.status_code == 400
    traversal = http.post(
        f"/namespaces/{namespace}/tables",
        json={"name": "t", "schema": SCHEMA, "location": "file:///tmp/../etc"},
    )
    assert traversal.status_code == 400


def test_stage_create_writes_nothing_until_committed(http: httpx.Client, namespace: str) -> None:
    staged = http.post(
        f"/namespaces/{namespace}/tables",
        json={"name": "s", "schema": SCHEMA, "stage-create": True},
    )
    assert staged.status_code == 200
    assert "metadata-location" not in staged.json()
    assert http.head(f"/namespaces/{namespace}/tables/s").status_code == 404


def test_load_sends_an_etag_and_honours_if_none_match(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    first = http.get(f"/namespaces/{namespace}/tables/t")
    etag = first.headers["ETag"]
    assert first.status_code == 200

    unchanged = http.get(f"/namespaces/{namespace}/tables/t", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    commit(http, namespace, "t", [set_properties(k="v")])
    changed = http.get(f"/namespaces/{namespace}/tables/t", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_snapshots_refs_returns_only_referenced_snapshots(
    catalog: RestCatalog, http: httpx.Client, namespace: str
) -> None:
    table = catalog.create_table(f"{namespace}.t", schema=pa.schema([("id", pa.int64())]))
    for value in range(3):
        table.append(pa.table({"id": pa.array([value], pa.int64())}))
    everything = http.get(f"/namespaces/{namespace}/tables/t").json()["metadata"]
    referenced = http.get(f"/namespaces/{namespace}/tables/t", params={"snapshots": "refs"})
    assert len(everything["snapshots"]) == 3
    assert [s["snapshot-id"] for s in referenced.json()["metadata"]["snapshots"]] == [
        everything["current-snapshot-id"]
    ]
    assert (
        referenced.headers["ETag"] != http.get(f"/namespaces/{namespace}/tables/t").headers["ETag"]
    )
    assert (
        http.get(f"/namespaces/{namespace}/tables/t", params={"snapshots": "x"}).status_code == 400
    )


def test_list_tables_paginates_and_excludes_views(http: httpx.Client, namespace: str) -> None:
    for i in range(5):
        create_table(http, namespace, f"t{i}")
    first = http.get(f"/namespaces/{namespace}/tables", params={"pageSize": 3}).json()
    second = http.get(
        f"/namespaces/{namespace}/tables",
        params={"pageSize": 3, "pageToken": first["next-page-token"]},
    ).json()
    names = [i["name"] for i in first["identifiers"] + second["identifiers"]]
    assert names == ["t0", "t1", "t2", "t3", "t4"]
    assert second["next-page-token"] is None


def test_drop_missing_table_is_not_found(http: httpx.Client, namespace: str) -> None:
    response = http.delete(f"/namespaces/{namespace}/tables/nope")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NoSuchTableException"


def test_rename_errors(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "a")
    create_table(http, namespace, "b")

    def rename(source: str, target_ns: str, target: str) -> httpx.Response:
        return http.post(
            "/tables/rename",
            json={
                "source": {"namespace": [namespace], "name": source},
                "destination": {"namespace": [target_ns], "name": target},
            },
        )

    assert rename("a", namespace, "b").status_code == 409
    assert rename("missing", namespace, "c").status_code == 404
    missing_ns = rename("a", "no_such_ns", "c")
    assert missing_ns.status_code == 404
    assert missing_ns.json()["error"]["type"] == "NoSuchNamespaceException"
    assert rename("a", namespace, "c").status_code == 204
    assert http.head(f"/namespaces/{namespace}/tables/c").status_code == 204


def test_unregister_returns_last_metadata_and_later_commits_fail(
    http: httpx.Client, namespace: str
) -> None:
    created = create_table(http, namespace, "t")
    commit(http, namespace, "t", [set_properties(k="v")])
    response = http.post(f"/namespaces/{namespace}/tables/t/unregister")
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"]["properties"]["k"] == "v"
    assert body["metadata-location"] != created["metadata-location"]

    late = commit(http, namespace, "t", [set_properties(k="w")])
    assert late.status_code == 404

    registered = http.post(
        f"/namespaces/{namespace}/register",
        json={"name": "t", "metadata-location": body["metadata-location"]},
    )
    assert registered.status_code == 200
    assert registered.json()["metadata"]["properties"]["k"] == "v"


def test_register_refuses_missing_and_foreign_metadata(http: httpx.Client, namespace: str) -> None:
    created = create_table(http, namespace, "t")
    base = created["metadata-location"].rsplit("/", 1)[0]
    missing = http.post(
        f"/namespaces/{namespace}/register",
        json={"name": "r", "metadata-location": f"{base}/99999-missing.metadata.json"},
    )
    assert missing.status_code == 400, "missing and not metadata answer alike: no oracle"
    assert missing.json()["error"]["type"] == "BadRequestException"
    outside = http.post(
        f"/namespaces/{namespace}/register",
        json={"name": "r", "metadata-location": "file:///etc/passwd"},
    )
    assert outside.status_code == 400
    taken = http.post(
        f"/namespaces/{namespace}/register",
        json={"name": "t", "metadata-location": created["metadata-location"]},
    )
    assert taken.status_code == 409


def test_metrics_reports_are_accepted(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    report = {
        "report-type": "commit-report",
        "table-name": f"{namespace}.t",
        "snapshot-id": 1,
        "sequence-number": 1,
        "operation": "append",
        "metrics": {},
    }
    assert http.post(f"/namespaces/{namespace}/tables/t/metrics", json=report).status_code == 204
    assert http.post(f"/namespaces/{namespace}/tables/nope/metrics", json=report).status_code == 404
    bad = http.post(f"/namespaces/{namespace}/tables/t/metrics", json={"report-type": "x"})
    assert bad.status_code == 400


def test_config_names_the_prefix_endpoints_and_idempotency(http: httpx.Client) -> None:
    config = http.get(http.base_url.join("/v1/config")).json()
    assert config["overrides"]["prefix"] == "default"
    assert config["idempotency-key-lifetime"] == "PT30M"
    assert "POST /v1/{prefix}/transactions/commit" in config["endpoints"]
    assert "GET /v1/{prefix}/namespaces/{namespace}/views/{view}" in config["endpoints"]
    unknown = http.get(http.base_url.join("/v1/config"), params={"warehouse": "nope"})
    assert unknown.status_code == 404
