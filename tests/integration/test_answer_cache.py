"""On SQLite the fast reads' answers are kept whole at the front door (catalog/api/answers.py)
and sent again to the same request while nothing they depend on changed: every write to the
database, in any process, and the caller's token ending, are seen by the very next request.

The app runs in this process (its answer cache can then be looked at) on the database of a
real `icefloe serve`, through which the tests write: that process's commits, revokes and
rotations must reach the next request here.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from catalog.api.answers import AnswerCache
from catalog.app import create_app
from catalog.service.tokens import TOKEN_CACHE_SECONDS
from catalog.settings import Settings
from tests.support.payloads import commit, create_table, set_properties
from tests.support.server import CatalogServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    started = CatalogServer(tmp_path_factory.mktemp("answers")).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def app(server: CatalogServer) -> FastAPI:
    settings = Settings(data_dir=server.data_dir, embedded_s3=False, maintenance_enabled=False)
    made = create_app(settings)
    send(made, "GET", "/healthz", {})  # builds the middleware stack, and the front door
    return made


def answers(app: FastAPI) -> AnswerCache:
    kept = app.front.fast.answers  # type: ignore[attr-defined]
    assert isinstance(kept, AnswerCache)
    return kept


def send(
    app: FastAPI, method: str, path: str, headers: dict[str, str], times: int = 1
) -> list[httpx.Response]:
    """The same request `times` times in a row through the in-process app."""

    async def each() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://icefloe") as http:
            return [await http.request(method, path, headers=headers) for _ in range(times)]

    return asyncio.run(each())


def kept_twice(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """Send a request until it is answered from what was kept, and require that answer to be
    the one first given. (An answer is not kept when the token row was read for it, nor under
    a version the other process's own bookkeeping, its change events, moves on right after.)"""
    first = send(app, method, path, headers)[0]
    for _ in range(50):
        hits = answers(app).hits
        second = send(app, method, path, headers)[0]
        if answers(app).hits == hits + 1:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the request was worked out again every time")
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert without_id(second.headers) == without_id(first.headers)
    return second


def refused_within_the_window(app: FastAPI, path: str, headers: dict[str, str]) -> None:
    """After a write through another process that ends a token, the token cache's own window
    (`TOKEN_CACHE_SECONDS`: its row here may predate the write) is all that may pass before
    the token is refused; a kept answer lasts no longer than the row it was authorized with.
    The margin is for a loaded machine: an answer kept until the database next changes would
    be served for ever here."""
    changed_at = time.monotonic()
    while (answer := send(app, "GET", path, headers)[0]).status_code == 200:
        assert time.monotonic() - changed_at < TOKEN_CACHE_SECONDS + 5
        time.sleep(0.05)
    assert answer.status_code == 401


def without_id(headers: httpx.Headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.multi_items() if k != "x-request-id"]


def token(server: CatalogServer, **extra: Any) -> dict[str, Any]:
    body = {"name": "kept", "permission": "read-only", "warehouses": ["default"], **extra}
    created = httpx.post(
        f"{server.url}/admin/v1/tokens", json=body, headers=server.auth_headers, timeout=30
    )
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def table(server: CatalogServer) -> str:
    namespace = f"ns_{uuid.uuid4().hex[:10]}"
    with server.rest_client() as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        create_table(http, namespace, "t")
    return f"/v1/default/namespaces/{namespace}/tables/t"


def test_loads_exists_revalidations_and_config_are_sent_again_as_they_were(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    loaded = kept_twice(app, "GET", table, server.auth_headers)
    assert loaded.status_code == 200
    assert loaded.json()["metadata-location"]
    assert kept_twice(app, "HEAD", table, server.auth_headers).status_code == 204
    revalidate = {**server.auth_headers, "If-None-Match": loaded.headers["etag"]}
    assert kept_twice(app, "GET", table, revalidate).status_code == 304
    assert kept_twice(app, "GET", "/v1/config?warehouse=default", server.auth_headers)
    # the answer a full path gives the same request, byte for byte
    full = send(app, "GET", table + "?_=1", server.auth_headers)[0]
    assert full.status_code == 200
    assert full.content == loaded.content


def test_a_commit_through_another_process_is_seen_by_the_next_load(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    before = kept_twice(app, "GET", table, server.auth_headers)
    namespace = table.split("/")[4]
    with server.rest_client() as http:
        changed = commit(http, namespace, "t", [set_properties(owner="someone-else")])
        assert changed.status_code == 200, changed.text
    after = send(app, "GET", table, server.auth_headers)[0]
    assert after.json()["metadata"]["properties"]["owner"] == "someone-else"
    assert after.headers["etag"] != before.headers["etag"]


def test_a_table_dropped_through_another_process_is_gone_for_the_next_load(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    kept_twice(app, "HEAD", table, server.auth_headers)
    kept_twice(app, "GET", table, server.auth_headers)
    namespace = table.split("/")[4]
    with server.rest_client() as http:
        assert http.delete(f"/namespaces/{namespace}/tables/t").status_code == 204
    assert send(app, "HEAD", table, server.auth_headers)[0].status_code == 404
    assert send(app, "GET", table, server.auth_headers)[0].status_code == 404


def test_a_token_revoked_through_another_process_is_refused_within_the_window(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    issued = token(server)
    kept_twice(app, "GET", table, bearer(issued["token"]))
    revoked = httpx.delete(
        f"{server.url}/admin/v1/tokens/{issued['id']}", headers=server.auth_headers, timeout=30
    )
    assert revoked.status_code == 204
    refused_within_the_window(app, table, bearer(issued["token"]))
    assert send(app, "GET", "/v1/config", bearer(issued["token"]))[0].status_code == 401


def test_a_secret_rotated_through_another_process_is_refused_within_the_window(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    issued = token(server)
    kept_twice(app, "GET", table, bearer(issued["token"]))
    rotated = httpx.post(
        f"{server.url}/admin/v1/tokens/{issued['id']}/rotate",
        headers=server.auth_headers,
        timeout=30,
    )
    assert rotated.status_code == 200, rotated.text
    refused_within_the_window(app, table, bearer(issued["token"]))
    assert send(app, "GET", table, bearer(rotated.json()["token"]))[0].status_code == 200


def test_a_token_that_expires_is_refused_by_the_first_request_after_it(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    issued = token(server, expires_in_seconds=3)
    ends = time.time() + 3
    kept_twice(app, "GET", table, bearer(issued["token"]))
    kept = next(k for k in answers(app)._entries.values() if k.expires < ends + 1)
    assert kept.expires <= ends + 0.5  # the entry ends with the token
    time.sleep(max(0.0, ends + 0.5 - time.time()))
    assert send(app, "GET", table, bearer(issued["token"]))[0].status_code == 401


def test_a_kept_answer_lasts_no_longer_than_the_token_cache_trusts_its_row(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    kept_twice(app, "GET", table, server.auth_headers)
    now = time.monotonic()
    assert all(k.fresh_until <= now + 1.0 for k in answers(app)._entries.values())


def test_a_kept_answer_lasts_past_the_token_cache_renewing_the_same_row(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    """Tried a few times: the other process writes now and then (its event dispatcher's lease
    and stamps), and any write rightly ends every kept answer."""
    for _ in range(5):
        kept_twice(app, "GET", table, server.auth_headers)
        time.sleep(TOKEN_CACHE_SECONDS + 0.1)  # the row the answer was authorized with is stale
        renewing = send(app, "GET", table + "?snapshots=refs", server.auth_headers)[0]
        assert renewing.status_code == 200  # worked out, with the row read again
        hits = answers(app).hits
        assert send(app, "GET", table, server.auth_headers)[0].status_code == 200
        if answers(app).hits == hits + 1:
            return
    raise AssertionError("a kept answer was worked out again once its token row was renewed")


def test_another_callers_request_is_not_given_a_kept_answer(
    app: FastAPI, server: CatalogServer, table: str
) -> None:
    kept_twice(app, "GET", table, server.auth_headers)
    elsewhere = token(server, namespaces=[["elsewhere"]])
    assert send(app, "GET", table, bearer(elsewhere["token"]))[0].status_code == 403
    assert send(app, "GET", table, {})[0].status_code == 401
    assert send(app, "GET", table, bearer("icefloe_0123456789abcdef_nope"))[0].status_code == 401
