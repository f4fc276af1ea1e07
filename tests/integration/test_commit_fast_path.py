"""updateTable answered by the fast path (catalog/api/commit_fast.py) is the answer the full
FastAPI path gives: the same body for a landed commit, the same error body for a refused one,
the same audit record; and every request it does not fully understand (a body that does not
validate, an Idempotency-Key, a content type other than JSON, a caller unknown or refused) is
answered by the route exactly as before, body included.

A request the fast path answers carries `via=fast` in its access log line; a query parameter
it does not know (`_=1`, ignored by the route) sends the same request the full way.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.access_log import send, via
from tests.support.payloads import create_table, set_properties
from tests.support.server import CatalogServer

FULL_PATH = {"_": "1"}  # an unknown query parameter: the route ignores it, the fast path yields
HEADERS_COMPARED = ("content-type", "content-length")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """INFO logs: the access log line says which path answered."""
    started = CatalogServer(
        tmp_path_factory.mktemp("commit-fast-path"), env={"ICEFLOE_LOG_LEVEL": "INFO"}
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


def _body(updates: list[dict[str, Any]], requirements: list[dict[str, Any]] | None = None) -> Any:
    return {"requirements": requirements or [], "updates": updates}


def _audit(server: CatalogServer, request_id: str) -> list[tuple[str, str, int]]:
    """The audit records of one request: (operation, target, status); a refusal's is written
    after the answer, so it is waited for."""
    for _ in range(50):
        events = httpx.get(
            f"{server.url}/admin/v1/audit", params={"limit": 50}, headers=server.auth_headers
        ).json()["events"]
        found = [
            (e["operation"], e["target"], e["status"])
            for e in events
            if e["request-id"] == request_id
        ]
        if found:
            return found
        time.sleep(0.05)
    return []


def test_a_landed_commit_answers_and_is_audited_as_the_route_does(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    path = f"/namespaces/{namespace}/tables/t"
    fast, fast_id = send(http, "POST", path, json=_body([set_properties(a="1")]))
    after_fast = http.get(path, params=FULL_PATH).json()
    full, full_id = send(http, "POST", path, json=_body([set_properties(b="2")]), params=FULL_PATH)
    after_full = http.get(path, params=FULL_PATH).json()

    assert (via(server, fast_id), via(server, full_id)) == ("fast", "full")
    assert fast.status_code == full.status_code == 200
    assert fast.headers["content-type"] == full.headers["content-type"]
    assert fast.json() == {
        "metadata-location": after_fast["metadata-location"],
        "metadata": after_fast["metadata"],
    }
    assert full.json() == {
        "metadata-location": after_full["metadata-location"],
        "metadata": after_full["metadata"],
    }
    assert after_full["metadata"]["properties"]["a"] == "1"
    target = f"default/{namespace}/t"
    assert _audit(server, fast_id) == _audit(server, full_id) == [("updateTable", target, 200)]


def test_a_refused_commit_has_the_same_error_and_audit_and_changes_nothing(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    path = f"/namespaces/{namespace}/tables/t"
    before = http.get(path, params=FULL_PATH).content
    stale = _body(
        [set_properties(never="written")],
        [{"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}],
    )
    fast, fast_id = send(http, "POST", path, json=stale)
    full, full_id = send(http, "POST", path, json=stale, params=FULL_PATH)

    assert (via(server, fast_id), via(server, full_id)) == ("fast", "full")
    assert fast.status_code == full.status_code == 409
    assert fast.content == full.content
    for name in HEADERS_COMPARED:
        assert fast.headers[name] == full.headers[name]
    assert http.get(path, params=FULL_PATH).content == before
    target = f"default/{namespace}/t"
    assert _audit(server, fast_id) == _audit(server, full_id) == [("updateTable", target, 409)]

    missing, missing_id = send(
        http, "POST", f"/namespaces/{namespace}/tables/nope", json=_body([set_properties(a="1")])
    )
    assert via(server, missing_id) == "fast"
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NoSuchTableException"


@pytest.mark.parametrize(
    ("case", "content", "headers"),
    [
        ("not JSON", b"{not json", {"Content-Type": "application/json"}),
        ("empty", b"", {"Content-Type": "application/json"}),
        ("wrong shape", b'{"updates": "none"}', {"Content-Type": "application/json"}),
        ("unknown action", b'{"updates": [{"action": "drop-everything"}]}', {}),
        ("not JSON media", b'{"updates": []}', {"Content-Type": "text/plain"}),
        ("bad name", None, {}),
    ],
)
def test_what_the_fast_path_does_not_understand_gets_the_routes_answer(
    server: CatalogServer,
    http: httpx.Client,
    namespace: str,
    case: str,
    content: bytes | None,
    headers: dict[str, str],
) -> None:
    """The body the fast path read is given back to the route, which answers as before."""
    create_table(http, namespace, "t")
    table = "t" if content is not None else "%01"  # a control character: not a name
    path = f"/namespaces/{namespace}/tables/{table}"
    body = content if content is not None else json.dumps(_body([])).encode()
    before = http.get(f"/namespaces/{namespace}/tables/t", params=FULL_PATH).content
    first, first_id = send(http, "POST", path, headers, content=body)
    full, full_id = send(http, "POST", path, headers, content=body, params=FULL_PATH)
    assert (via(server, first_id), via(server, full_id)) == ("full", "full")
    assert first.status_code == full.status_code
    assert 400 <= first.status_code < 500, case
    assert first.content == full.content
    assert http.get(f"/namespaces/{namespace}/tables/t", params=FULL_PATH).content == before


def test_callers_the_fast_path_does_not_answer_for_go_the_full_way(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    path = f"{server.url}/v1/default/namespaces/{namespace}/tables/t"
    body = _body([set_properties(a="1")])
    reader = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={"name": f"ro-{namespace}", "permission": "read-only", "warehouses": ["default"]},
        headers=server.auth_headers,
    ).json()["token"]
    for authorization, status in ((None, 401), ("Bearer nope", 401), (f"Bearer {reader}", 403)):
        request_id = uuid.uuid4().hex
        headers = {"X-Request-Id": request_id}
        if authorization:
            headers["Authorization"] = authorization
        refused = httpx.post(path, json=body, headers=headers)
        assert refused.status_code == status, refused.text
        assert via(server, request_id) == "full"

    key = str(uuid.uuid4())
    first, first_id = send(
        http, "POST", f"/namespaces/{namespace}/tables/t", {"Idempotency-Key": key}, json=body
    )
    again, again_id = send(
        http, "POST", f"/namespaces/{namespace}/tables/t", {"Idempotency-Key": key}, json=body
    )
    assert (via(server, first_id), via(server, again_id)) == ("full", "full")
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
