"""loadTable and tableExists answered by the fast path (catalog/api/tables_fast.py) are the
answers the full FastAPI path gives: the same bytes, the same ETag and 304, the same errors,
the same vended credentials and signer settings for a delegated load; and no cached body
outlives a commit or a revoked token, in this process or another one.

A request the fast path answers carries `via=fast` in its access log line; a query parameter
it does not know (`_=1`, ignored by the route) sends the same request the full way.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support.access_log import send, via
from tests.support.payloads import SCHEMA, commit, create_table, set_properties
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer, server_pair
from tests.support.vended import denied, s3_client

FULL_PATH = {"_": "1"}  # an unknown query parameter: the route ignores it, the fast path yields
WINDOW_SECONDS = 1.0  # catalog.service.tokens.TOKEN_CACHE_SECONDS
HEADERS_COMPARED = ("etag", "content-type", "content-length")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """INFO logs: the access log line says which path answered."""
    started = CatalogServer(
        tmp_path_factory.mktemp("fast-path"), env={"ICEFLOE_LOG_LEVEL": "INFO"}
    ).start()
    yield started
    started.stop()


@pytest.fixture
def http(server: CatalogServer) -> Iterator[httpx.Client]:
    with server.rest_client() as client:
        yield client


@pytest.fixture
def namespace(http: httpx.Client) -> str:
    name = f"ns_{uuid.uuid4().hex[:10]}"
    assert http.post("/namespaces", json={"namespace": [name]}).status_code == 200
    return name


def test_fast_path_answers_are_byte_identical_to_the_full_path(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    assert commit(http, namespace, "t", [set_properties(k="v")]).status_code == 200
    path = f"/namespaces/{namespace}/tables/t"
    for query in ({}, {"snapshots": "all"}, {"snapshots": "refs"}):
        fast, fast_id = send(http, "GET", path, params=query)
        full, full_id = send(http, "GET", path, params={**query, **FULL_PATH})
        fast_again, again_id = send(http, "GET", path, params=query)  # from the body cache
        assert (via(server, fast_id), via(server, full_id), via(server, again_id)) == (
            "fast",
            "full",
            "fast",
        )
        assert fast.status_code == full.status_code == fast_again.status_code == 200
        assert fast.content == full.content == fast_again.content
        for name in HEADERS_COMPARED:
            assert fast.headers[name] == full.headers[name] == fast_again.headers[name]
        etag = fast.headers["etag"]
        for match in (etag, f'"other", {etag}'):
            fast_304, fast_id = send(http, "GET", path, {"If-None-Match": match}, params=query)
            full_304, full_id = send(
                http, "GET", path, {"If-None-Match": match}, params={**query, **FULL_PATH}
            )
            assert (via(server, fast_id), via(server, full_id)) == ("fast", "full")
            assert fast_304.status_code == full_304.status_code == 304
            assert fast_304.content == full_304.content == b""
            assert sorted(fast_304.headers.keys()) == sorted(full_304.headers.keys())
            assert fast_304.headers["etag"] == full_304.headers["etag"] == etag
        stale, _ = send(http, "GET", path, {"If-None-Match": '"stale"'}, params=query)
        assert stale.status_code == 200 and stale.content == fast.content
    exists, exists_id = send(http, "HEAD", path)
    exists_full, full_id = send(http, "HEAD", path, params=FULL_PATH)
    assert (via(server, exists_id), via(server, full_id)) == ("fast", "full")
    assert exists.status_code == exists_full.status_code == 204
    assert sorted(exists.headers.keys()) == sorted(exists_full.headers.keys())


def test_a_commit_is_seen_by_the_next_load_and_its_etag_changes(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    path = f"/namespaces/{namespace}/tables/t"
    before, _ = send(http, "GET", path)
    for round_ in range(5):
        assert commit(http, namespace, "t", [set_properties(round=str(round_))]).status_code == 200
        after, request_id = send(http, "GET", path, {"If-None-Match": before.headers["etag"]})
        assert via(server, request_id) == "fast"
        assert after.status_code == 200
        assert after.json()["metadata"]["properties"]["round"] == str(round_)
        assert after.headers["etag"] != before.headers["etag"]
        before = after


def test_what_the_fast_path_does_not_serve_is_answered_as_before(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    assert http.post(f"/namespaces/{namespace}/views", json=_view()).status_code == 200
    huge = "9" * 400
    cases = {
        # the table does not exist, in every way it can fail to
        f"/namespaces/{namespace}/tables/missing": (404, "NoSuchTableException"),
        f"/namespaces/{namespace}/tables/v": (404, "NoSuchTableException"),  # a view
        "/namespaces/nowhere/tables/t": (404, "NoSuchTableException"),
        f"/namespaces/{namespace}%1Fchild/tables/t": (404, "NoSuchTableException"),
        f"/namespaces/{huge}/tables/{huge}": (400, "BadRequestException"),
        f"/namespaces/{namespace}/tables/{huge}": (400, "BadRequestException"),
        f"/namespaces/{namespace}%1F/tables/t": (400, "BadRequestException"),
        f"/namespaces/{namespace}/tables/a%2Fb": (404, None),  # another route's path
        f"/namespaces/{namespace}%2Fx/tables/t": (404, None),
        f"/namespaces/{namespace}/tables/%2E%2E": (400, "BadRequestException"),
    }
    for path, (status, kind) in cases.items():
        response, request_id = send(http, "GET", path)
        assert via(server, request_id) == "full", path
        assert response.status_code == status, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == status
        if kind is not None:
            assert error["type"] == kind, (path, error)
        full, _ = send(http, "GET", path, params=FULL_PATH)
        assert full.status_code == status and full.json() == response.json()
    for warehouse in ("nowhere", "x" * 300):
        response, request_id = send(
            http, "GET", f"{server.url}/v1/{warehouse}/namespaces/{namespace}/tables/t"
        )
        assert via(server, request_id) == "full"
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NoSuchWarehouseException"
    path = f"/namespaces/{namespace}/tables/t"
    for method in ("PUT", "PATCH", "OPTIONS"):
        response, request_id = send(http, method, path)
        assert via(server, request_id) == "full"
        assert response.status_code == 405, method
        assert response.json()["error"]["code"] == 405
    missing, request_id = send(http, "HEAD", f"/namespaces/{namespace}/tables/missing")
    assert via(server, request_id) == "full" and missing.status_code == 404


def test_refused_callers_are_refused_as_before(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    path = f"/namespaces/{namespace}/tables/t"
    narrowed = _token(server, namespaces=[["elsewhere"]])["token"]
    for bearer, status in (("", 401), ("icefloe_nonsense", 401), (narrowed, 403)):
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        with httpx.Client(base_url=http.base_url, timeout=30) as anonymous:
            response, request_id = send(anonymous, "GET", path, headers)
            assert via(server, request_id) == "full"
            assert response.status_code == status
            assert response.json()["error"]["code"] == status


def test_a_revoked_token_is_refused_by_the_fast_path_at_once_here(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    token = _token(server)
    reader = {"Authorization": f"Bearer {token['token']}"}
    path = f"/namespaces/{namespace}/tables/t"
    loaded, request_id = send(http, "GET", path, reader)
    assert loaded.status_code == 200 and via(server, request_id) == "fast"
    revoked = httpx.delete(
        f"{server.url}/admin/v1/tokens/{token['id']}", headers=server.auth_headers, timeout=30
    )
    assert revoked.status_code == 204
    assert send(http, "GET", path, reader)[0].status_code == 401
    assert (
        send(http, "GET", path, {**reader, "If-None-Match": loaded.headers["etag"]})[0].status_code
        == 401
    )


def _token(server: CatalogServer, **scope: Any) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={"name": "reader", "permission": "read-only", "warehouses": ["default"], **scope},
        headers=server.auth_headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


def _view() -> dict[str, Any]:
    return {
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


# Two `icefloe serve` processes sharing one PostgreSQL database.


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CatalogServer, CatalogServer]]:
    database_url = postgres.create_database()
    env = {"ICEFLOE_JWT_SIGNING_KEY": secrets.token_urlsafe(48), "ICEFLOE_LOG_LEVEL": "INFO"}
    dirs = (tmp_path_factory.mktemp("fast-a"), tmp_path_factory.mktemp("fast-b"))
    with server_pair(dirs, database_url, env) as servers:
        yield servers


@pytest.fixture(scope="module")
def sqlite_pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[CatalogServer, CatalogServer]]:
    """Two processes on one SQLite file, where a pointer read is kept until the database
    changes (catalog/store/remembered.py)."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('fast-sqlite') / 'catalog.db'}"
    env = {"ICEFLOE_JWT_SIGNING_KEY": secrets.token_urlsafe(48), "ICEFLOE_LOG_LEVEL": "INFO"}
    dirs = (tmp_path_factory.mktemp("fast-c"), tmp_path_factory.mktemp("fast-d"))
    with server_pair(dirs, database_url, env) as servers:
        yield servers


def test_a_commit_through_one_process_is_seen_by_the_next_load_through_another(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    commits_are_seen_by_the_next_load_through_the_other(pair)


def test_on_sqlite_a_commit_through_one_process_is_seen_by_the_next_load_through_another(
    sqlite_pair: tuple[CatalogServer, CatalogServer],
) -> None:
    commits_are_seen_by_the_next_load_through_the_other(sqlite_pair)


def test_on_sqlite_a_table_made_or_dropped_through_one_process_is_seen_by_the_other_at_once(
    sqlite_pair: tuple[CatalogServer, CatalogServer],
) -> None:
    _, other = sqlite_pair
    with writer_and_reader(sqlite_pair) as (writer, reader, namespace):
        path = f"/namespaces/{namespace}/tables/t"
        for _ in range(3):
            assert reader.get(path).status_code == 404
            create_table(writer, namespace, "t")
            loaded, loaded_id = send(reader, "GET", path)
            assert (loaded.status_code, via(other, loaded_id)) == (200, "fast")
            assert writer.delete(path).status_code == 204


@contextmanager
def writer_and_reader(
    pair: tuple[CatalogServer, CatalogServer],
) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """A client of the first process, one of the second, and a new namespace made through the
    first."""
    one, other = pair
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    writer = httpx.Client(base_url=f"{one.url}/v1/default", headers=one.auth_headers, timeout=30)
    reader = httpx.Client(
        base_url=f"{other.url}/v1/default", headers=other.auth_headers, timeout=30
    )
    with writer, reader:
        assert writer.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        yield writer, reader, namespace


def commits_are_seen_by_the_next_load_through_the_other(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    _, other = pair
    with writer_and_reader(pair) as (writer, reader, namespace):
        create_table(writer, namespace, "t")
        path = f"/namespaces/{namespace}/tables/t"
        etag = send(reader, "GET", path)[0].headers["etag"]  # cached in the other process
        for round_ in range(30):
            committed = commit(writer, namespace, "t", [set_properties(round=str(round_))])
            assert committed.status_code == 200, committed.text
            location = committed.json()["metadata-location"]
            stale, stale_id = send(reader, "GET", path, {"If-None-Match": etag})
            assert stale.status_code == 200, f"round {round_}: a 304 for a stale copy"
            loaded, loaded_id = send(reader, "GET", path)
            assert (via(other, stale_id), via(other, loaded_id)) == ("fast", "fast")
            for answer in (stale, loaded):
                assert answer.json()["metadata-location"] == location, f"round {round_}"
                assert answer.json()["metadata"]["properties"]["round"] == str(round_)
            assert loaded.content == stale.content
            etag = loaded.headers["etag"]


def test_a_token_revoked_through_one_process_is_refused_by_the_others_fast_path_in_the_window(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    one, other = pair
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=f"{one.url}/v1/default", headers=one.auth_headers) as admin:
        assert admin.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(admin, namespace, "t")
    token = _token(one)
    with httpx.Client(
        base_url=f"{other.url}/v1/default",
        headers={"Authorization": f"Bearer {token['token']}"},
        timeout=30,
    ) as reader:
        path = f"/namespaces/{namespace}/tables/t"
        loaded, request_id = send(reader, "GET", path)
        assert loaded.status_code == 200 and via(other, request_id) == "fast"
        revoked = httpx.delete(
            f"{one.url}/admin/v1/tokens/{token['id']}", headers=one.auth_headers, timeout=30
        )
        assert revoked.status_code == 204
        revoked_at = time.monotonic()
        while (status := send(reader, "GET", path)[0].status_code) == 200:
            # Generous against a loaded machine; an entry that never expired would hang here.
            assert time.monotonic() - revoked_at < WINDOW_SECONDS + 30
            time.sleep(0.05)
        assert status == 401


# Access delegation (X-Iceberg-Access-Delegation, which PyIceberg sends by default), on the
# embedded store, where the catalog vends credentials and signs requests.


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    started = CatalogServer(
        tmp_path_factory.mktemp("fast-embedded"),
        storage="embedded",
        env={"ICEFLOE_LOG_LEVEL": "INFO"},
    ).start()
    yield started
    started.stop()


DELEGATIONS = ("vended-credentials", "remote-signing", "remote-signing, vended-credentials")


def test_delegated_loads_are_answered_by_the_fast_path_with_the_full_paths_bytes(
    embedded: CatalogServer,
) -> None:
    """The same credentials (vended once, reused by both paths), the same signer settings,
    read-only ones for a reader; and a load without the header still gets no secret."""
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    reader = {"Authorization": f"Bearer {_token(embedded)['token']}"}
    with httpx.Client(
        base_url=f"{embedded.url}/v1/default", headers=embedded.auth_headers, timeout=30
    ) as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(http, namespace, "t")
        path = f"/namespaces/{namespace}/tables/t"
        vended: dict[str, dict[str, Any]] = {}
        for caller, auth in (("writer", embedded.auth_headers), ("reader", reader)):
            for delegation in DELEGATIONS:
                asked = {**auth, "X-Iceberg-Access-Delegation": delegation}
                for query in ({}, {"snapshots": "refs"}):
                    fast, fast_id = send(http, "GET", path, asked, params=query)
                    full, full_id = send(http, "GET", path, asked, params={**query, **FULL_PATH})
                    assert (via(embedded, fast_id), via(embedded, full_id)) == ("fast", "full")
                    assert fast.status_code == full.status_code == 200, fast.text
                    assert fast.content == full.content, (caller, delegation)
                    for name in HEADERS_COMPARED:
                        assert fast.headers[name] == full.headers[name]
                    etag = fast.headers["etag"]
                    revalidated, request_id = send(
                        http, "GET", path, {**asked, "If-None-Match": etag}, params=query
                    )
                    assert revalidated.status_code == 304 and via(embedded, request_id) == "fast"
                body = fast.json()
                if "vended-credentials" in delegation:
                    assert body["storage-credentials"][0]["prefix"].startswith("s3://default/")
                    vended[caller] = body["config"]
                else:
                    assert "storage-credentials" not in body
                    assert body["config"]["s3.signer.uri"] == embedded.url
                    assert body["config"]["s3.signer.endpoint"].endswith(
                        f"{namespace}/tables/t/sign"
                    )
            plain, plain_id = send(http, "GET", path, auth)
            assert via(embedded, plain_id) == "fast"
            assert plain.json()["config"] == {} and "storage-credentials" not in plain.json()
    assert vended["reader"]["s3.access-key-id"] != vended["writer"]["s3.access-key-id"]
    bucket, _, key = plain.json()["metadata"]["location"].removeprefix("s3://").partition("/")
    s3 = s3_client(vended["reader"])
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key + "/")["KeyCount"] > 0
    assert denied(lambda: s3.put_object(Bucket=bucket, Key=f"{key}/data/x.bin", Body=b"x"))
    s3_client(vended["writer"]).put_object(Bucket=bucket, Key=f"{key}/data/x.bin", Body=b"x")


def test_a_delegated_load_follows_commits_and_unknown_delegations_go_the_full_way(
    embedded: CatalogServer,
) -> None:
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    asked = {"X-Iceberg-Access-Delegation": "vended-credentials"}
    with httpx.Client(
        base_url=f"{embedded.url}/v1/default", headers=embedded.auth_headers, timeout=30
    ) as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(http, namespace, "t")
        path = f"/namespaces/{namespace}/tables/t"
        for round_ in range(3):
            assert commit(http, namespace, "t", [set_properties(r=str(round_))]).status_code == 200
            loaded, request_id = send(http, "GET", path, asked)
            assert via(embedded, request_id) == "fast"
            assert loaded.json()["metadata"]["properties"]["r"] == str(round_)
            assert loaded.json()["storage-credentials"]
        twice = [("X-Iceberg-Access-Delegation", "vended-credentials")] * 2
        request_id = uuid.uuid4().hex
        response = http.get(path, headers=[*twice, ("X-Request-Id", request_id)])
        assert response.status_code == 200 and via(embedded, request_id) == "full"
        for unknown in ("", "something-else"):
            fast, fast_id = send(http, "GET", path, {"X-Iceberg-Access-Delegation": unknown})
            full, full_id = send(
                http, "GET", path, {"X-Iceberg-Access-Delegation": unknown}, params=FULL_PATH
            )
            assert (via(embedded, fast_id), via(embedded, full_id)) == ("fast", "full")
            assert fast.content == full.content
