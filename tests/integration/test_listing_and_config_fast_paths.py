"""Listings (namespaces, tables, views) and config answered by the fast paths
(catalog/api/listing_fast.py, config_fast.py) are the answers the FastAPI routes give: the same
bodies and page tokens page after page, the same filtering for a caller who sees part of the
catalog; and whatever they do not answer (an error, an unknown query) is answered as before.

A request a fast path answers carries `via=fast` in its access log line; a query parameter the
routes ignore (`_=1`) sends the same request the full way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from catalog.api.listing_fast import INLINE_ROWS
from tests.conftest import BACKENDS, database_url_for
from tests.support.access_log import send, via
from tests.support.payloads import SCHEMA, create_table
from tests.support.server import CatalogServer

FULL_PATH = {"_": "1"}
HEADERS_COMPARED = ("content-type", "content-length")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    """On SQLite the fast paths read on the event loop, on PostgreSQL on a worker thread."""
    started = CatalogServer(
        tmp_path_factory.mktemp(f"listing-fast-{request.param}"),
        database_url_for(request.param, request),
        env={"ICEFLOE_LOG_LEVEL": "INFO", "ICEFLOE_WORKERS": "1"},
    ).start()
    yield started
    started.stop()


@pytest.fixture
def http(server: CatalogServer) -> Iterator[httpx.Client]:
    with server.rest_client() as client:
        yield client


@pytest.fixture
def tree(http: httpx.Client) -> str:
    """A namespace with five children (one of them two levels deep), five tables, two views."""
    root = f"ns_{uuid.uuid4().hex[:10]}"
    for levels in ([root], *([root, f"c{i}"] for i in range(5)), [root, "c1", "deep"]):
        assert http.post("/namespaces", json={"namespace": levels}).status_code == 200
    for i in range(5):
        create_table(http, root, f"t{i}")
    for name in ("v0", "v1"):
        view = {"name": name, "schema": SCHEMA, "view-version": _view_version()}
        assert http.post(f"/namespaces/{root}/views", json=view).status_code == 200
    return root


def same_answer(server: CatalogServer, http: httpx.Client, path: str, query: dict[str, Any]) -> Any:
    """The fast path's answer, once checked against the full path's; its JSON."""
    fast, fast_id = send(http, "GET", path, params=query)
    full, full_id = send(http, "GET", path, params={**query, **FULL_PATH})
    assert (via(server, fast_id), via(server, full_id)) == ("fast", "full"), (path, query)
    assert fast.status_code == full.status_code == 200, fast.text
    assert fast.content == full.content, (path, query)
    for name in HEADERS_COMPARED:
        assert fast.headers[name] == full.headers[name]
    return fast.json()


def walk(server: CatalogServer, http: httpx.Client, path: str, query: dict[str, Any]) -> list[Any]:
    """Every page, following next-page-token, each compared with the full path's."""
    pages = [same_answer(server, http, path, query)]
    while pages[-1].get("next-page-token"):
        pages.append(
            same_answer(server, http, path, {**query, "pageToken": pages[-1]["next-page-token"]})
        )
    return pages


@pytest.mark.parametrize("page_size", [None, 1, 2, 100])
def test_listing_pages_and_tokens_are_the_full_paths(
    server: CatalogServer, http: httpx.Client, tree: str, page_size: int | None
) -> None:
    query = {} if page_size is None else {"pageSize": page_size}
    children = walk(server, http, "/namespaces", {**query, "parent": tree})
    tables = walk(server, http, f"/namespaces/{tree}/tables", query)
    views = walk(server, http, f"/namespaces/{tree}/views", query)
    assert [ns for page in children for ns in page["namespaces"]] == [
        [tree, f"c{i}"] for i in range(5)
    ]
    assert [t["name"] for page in tables for t in page["identifiers"]] == [
        f"t{i}" for i in range(5)
    ]
    assert [v["name"] for page in views for v in page["identifiers"]] == ["v0", "v1"]
    deep = walk(server, http, "/namespaces", {**query, "parent": f"{tree}\x1fc1"})
    assert deep[0]["namespaces"] == [[tree, "c1", "deep"]]
    top = walk(server, http, "/namespaces", query)
    assert [tree] in [ns for page in top for ns in page["namespaces"]]
    same_answer(server, http, "/namespaces", {"pageToken": "", "pageSize": 2})


def test_a_listing_longer_than_what_the_event_loop_reads_is_the_full_paths(
    server: CatalogServer, http: httpx.Client
) -> None:
    """Past INLINE_ROWS the fast path reads on a worker thread: the same answer."""
    root = f"ns_{uuid.uuid4().hex[:10]}"
    assert http.post("/namespaces", json={"namespace": [root]}).status_code == 200
    children = [[root, f"c{i:03d}"] for i in range(INLINE_ROWS + 9)]
    for levels in children:
        assert http.post("/namespaces", json={"namespace": levels}).status_code == 200
    for query in ({}, {"pageSize": INLINE_ROWS + 5}, {"pageSize": INLINE_ROWS - 1}):
        pages = walk(server, http, "/namespaces", {**query, "parent": root})
        assert [ns for page in pages for ns in page["namespaces"]] == children


def test_a_narrowed_caller_sees_the_same_filtered_listing_on_both_paths(
    server: CatalogServer, http: httpx.Client, tree: str
) -> None:
    grant = [[tree, "c1"]]
    token = _token(server, "read-only", namespaces=grant)
    with httpx.Client(
        base_url=http.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as narrowed:
        top = walk(server, narrowed, "/namespaces", {})
        assert [tree] in top[0]["namespaces"]  # the way to what it may read
        assert all(ns == [tree] or ns[0] != tree for ns in top[0]["namespaces"])
        children = walk(server, narrowed, "/namespaces", {"parent": tree, "pageSize": 2})
        assert [ns for page in children for ns in page["namespaces"]] == [[tree, "c1"]]
        walk(server, narrowed, f"/namespaces/{tree}%1Fc1/tables", {})
        for path in (f"/namespaces/{tree}/tables", f"/namespaces/{tree}/views"):
            refused, request_id = send(narrowed, "GET", path)
            assert refused.status_code == 403 and via(server, request_id) == "full"


def test_what_the_listing_fast_path_does_not_serve_is_answered_as_before(
    server: CatalogServer, http: httpx.Client, tree: str
) -> None:
    cases = {
        "/namespaces/nowhere/tables": 404,
        "/namespaces/nowhere/views": 404,
        f"/namespaces/{tree}%1F/tables": 400,
        f"/namespaces/{tree}/tables?pageSize=0": 400,
        f"/namespaces/{tree}/tables?pageSize=100000": 400,
        f"/namespaces/{tree}/tables?pageSize=x": 400,
        f"/namespaces/{tree}/tables?pageToken=%25%25%25": 400,
        "/namespaces?parent=nowhere": 404,
        f"/namespaces?parent={tree}%1F": 400,
        "/namespaces?pageToken=AAAA&pageSize=1": 400,
    }
    for path, status in cases.items():
        response, request_id = send(http, "GET", path)
        assert via(server, request_id) == "full", path
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"]["code"] == status
    for path in ("/v1/nowhere/namespaces", "/v1/nowhere/namespaces/x/tables"):
        response, request_id = send(http, "GET", f"{server.url}{path}")
        assert via(server, request_id) == "full"
        assert response.json()["error"]["type"] == "NoSuchWarehouseException"
    with httpx.Client(timeout=30) as anonymous_client:
        anonymous, request_id = send(anonymous_client, "GET", f"{server.url}/v1/default/namespaces")
    assert anonymous.status_code == 401 and via(server, request_id) == "full"


def test_config_is_the_full_paths_for_every_way_of_naming_the_warehouse(
    server: CatalogServer, http: httpx.Client
) -> None:
    admin = httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)
    with admin:
        warehouses = admin.get("/admin/v1/warehouses").json()["warehouses"]
        default = next(w for w in warehouses if w["name"] == "default")
        for query in ({"warehouse": "default"}, {"warehouse": default["id"]}, {}):
            body = same_answer(server, admin, "/v1/config", query)
            assert body["overrides"]["prefix"] == "default"
        other = (server.data_dir / "warehouse" / f"cfg{uuid.uuid4().hex[:6]}").as_uri()
        name = other.rsplit("/", 1)[1]
        assert admin.post("/admin/v1/warehouses", json={"name": name, "location": other}).is_success
        assert same_answer(server, admin, "/v1/config", {"warehouse": name})["overrides"] == {
            "prefix": name,
            "namespace-separator": "%1F",
        }
        same_answer(server, admin, "/v1/config", {})  # several: the default one
        stranger = _token(server, "read-only", warehouses=[name])
        assert admin.delete(f"/admin/v1/warehouses/{name}").status_code == 204
        gone, request_id = send(admin, "GET", "/v1/config", params={"warehouse": name})
        assert gone.status_code == 404 and via(server, request_id) == "full"
    reader = _token(server, "read-only")
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {reader}"}, timeout=30
    ) as client:
        same_answer(server, client, "/v1/config", {"warehouse": "default"})
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {stranger}"}, timeout=30
    ) as client:
        for query in ({"warehouse": "default"}, {}):
            refused, request_id = send(client, "GET", "/v1/config", params=query)
            assert refused.status_code == 403 and via(server, request_id) == "full"


def _token(server: CatalogServer, permission: str, **scope: Any) -> str:
    body = {"name": "lister", "permission": permission, "warehouses": ["default"], **scope}
    response = httpx.post(
        f"{server.url}/admin/v1/tokens", json=body, headers=server.auth_headers, timeout=30
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def _view_version() -> dict[str, Any]:
    return {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 1,
        "summary": {},
        "representations": [{"type": "sql", "sql": "SELECT 1", "dialect": "spark"}],
        "default-namespace": [],
    }
