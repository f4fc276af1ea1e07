"""The namespace endpoints over HTTP, as the spec words them."""

from __future__ import annotations

import threading
import uuid

import httpx


def create(http: httpx.Client, *levels: str, **properties: str) -> httpx.Response:
    return http.post("/namespaces", json={"namespace": list(levels), "properties": properties})


def list_all(http: httpx.Client, parent: str, page_size: int) -> list[list[str]]:
    seen: list[list[str]] = []
    token = ""
    while True:
        response = http.get(
            "/namespaces", params={"parent": parent, "pageSize": page_size, "pageToken": token}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["namespaces"])
        token = body["next-page-token"]
        if token is None:
            return seen


def test_create_load_exists_and_drop(http: httpx.Client) -> None:
    name = f"ns_{uuid.uuid4().hex[:8]}"
    created = create(http, name, owner="ana")
    assert created.status_code == 200
    assert created.json() == {"namespace": [name], "properties": {"owner": "ana"}}
    assert http.get(f"/namespaces/{name}").json() == {
        "namespace": [name],
        "properties": {"owner": "ana"},
    }
    assert http.head(f"/namespaces/{name}").status_code == 204
    assert http.delete(f"/namespaces/{name}").status_code == 204
    assert http.head(f"/namespaces/{name}").status_code == 404
    missing = http.get(f"/namespaces/{name}")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NoSuchNamespaceException"


def test_nested_namespace_path_uses_unit_separator(http: httpx.Client, namespace: str) -> None:
    assert create(http, namespace, "a").status_code == 200
    assert http.get(f"/namespaces/{namespace}%1Fa").json()["namespace"] == [namespace, "a"]
    listed = http.get("/namespaces", params={"parent": f"{namespace}\x1fa"})
    assert listed.json() == {"namespaces": [], "next-page-token": None}


def test_drop_refused_while_namespace_holds_a_table_or_child(
    http: httpx.Client, namespace: str
) -> None:
    create(http, namespace, "child")
    refused = http.delete(f"/namespaces/{namespace}")
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "NamespaceNotEmptyException"
    assert http.head(f"/namespaces/{namespace}").status_code == 204


def test_update_properties_reports_updated_removed_and_missing(
    http: httpx.Client, namespace: str
) -> None:
    http.post(f"/namespaces/{namespace}/properties", json={"updates": {"a": "1", "b": "2"}})
    response = http.post(
        f"/namespaces/{namespace}/properties",
        json={"removals": ["a", "nope"], "updates": {"c": "3"}},
    )
    assert response.status_code == 200
    assert response.json() == {"updated": ["c"], "removed": ["a"], "missing": ["nope"]}
    assert http.get(f"/namespaces/{namespace}").json()["properties"] == {"b": "2", "c": "3"}


def test_same_key_updated_and_removed_is_a_bad_request(http: httpx.Client, namespace: str) -> None:
    response = http.post(
        f"/namespaces/{namespace}/properties", json={"removals": ["a"], "updates": {"a": "1"}}
    )
    assert response.status_code == 400


def test_pagination_visits_every_namespace_once(http: httpx.Client, namespace: str) -> None:
    children = sorted(f"c{i:03d}" for i in range(23))
    for child in children:
        create(http, namespace, child)
    pages = list_all(http, namespace, page_size=5)
    assert pages == [[namespace, child] for child in children]


def test_pagination_is_stable_under_concurrent_inserts(http: httpx.Client, namespace: str) -> None:
    originals = [f"m{i:03d}" for i in range(40)]
    for child in originals:
        create(http, namespace, child)
    stop = threading.Event()

    def insert_more() -> None:
        with httpx.Client(base_url=str(http.base_url), headers=http.headers, timeout=30) as other:
            i = 0
            while not stop.is_set() and i < 200:
                create(other, namespace, f"{'a' if i % 2 else 'z'}{uuid.uuid4().hex[:6]}")
                i += 1

    writer = threading.Thread(target=insert_more)
    writer.start()
    try:
        seen = [levels[-1] for levels in list_all(http, namespace, page_size=3)]
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen)), "an item was returned twice"
    assert set(originals) <= set(seen), "an item that existed all along was skipped"


def test_without_page_token_everything_comes_in_one_response(
    http: httpx.Client, namespace: str
) -> None:
    for i in range(7):
        create(http, namespace, f"n{i}")
    body = http.get("/namespaces", params={"parent": namespace}).json()
    assert len(body["namespaces"]) == 7
    assert body["next-page-token"] is None


def test_absurd_page_sizes_and_tokens_are_bad_requests(http: httpx.Client) -> None:
    for params in ({"pageSize": 0}, {"pageSize": -1}, {"pageSize": 10**9}, {"pageSize": "x"}):
        response = http.get("/namespaces", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["type"] == "BadRequestException"
    assert http.get("/namespaces", params={"pageToken": "%%%"}).status_code == 400


def test_invalid_namespace_names_are_refused(http: httpx.Client) -> None:
    for levels in ([], [""], ["a\x00b"], ["x" * 256], ["a/b"], [" padded "]):
        response = create(http, *levels)
        assert response.status_code == 400, levels
        assert response.json()["error"]["code"] == 400


def test_unknown_warehouse_prefix_is_not_found(http: httpx.Client) -> None:
    response = http.get(http.base_url.join("/v1/nowhere/namespaces"))
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NoSuchWarehouseException"
