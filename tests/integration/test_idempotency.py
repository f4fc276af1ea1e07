"""Idempotency-Key, as the spec describes it: a retry inside the advertised lifetime returns
the first outcome and changes nothing twice."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.payloads import commit, create_table, set_properties


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_retried_commit_is_applied_once(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    headers = key()
    first = commit(http, namespace, "t", [set_properties(n="1")], headers=headers)
    retried = commit(http, namespace, "t", [set_properties(n="1")], headers=headers)

    assert first.status_code == retried.status_code == 200
    assert retried.json() == first.json()
    assert retried.headers.get("Idempotent-Replayed") == "true"
    current = http.get(f"/namespaces/{namespace}/tables/t").json()
    assert current["metadata-location"] == first.json()["metadata-location"]
    assert len(current["metadata"]["metadata-log"]) == 1


def test_concurrent_retries_with_one_key_have_one_effect(
    http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "t")
    headers = key()

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(http.base_url), headers=http.headers, timeout=60) as client:
            return commit(client, namespace, "t", [set_properties(n="x")], headers=headers)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["metadata-location"] for r in responses}) == 1
    log = http.get(f"/namespaces/{namespace}/tables/t").json()["metadata"]["metadata-log"]
    assert len(log) == 1


def test_retried_create_namespace_returns_the_first_answer(http: httpx.Client) -> None:
    headers = key()
    body = {"namespace": [f"idem_{uuid.uuid4().hex[:8]}"], "properties": {"a": "1"}}
    first = http.post("/namespaces", json=body, headers=headers)
    retried = http.post("/namespaces", json=body, headers=headers)
    assert first.status_code == retried.status_code == 200
    assert retried.json() == first.json()


def test_deterministic_errors_are_final_too(http: httpx.Client, namespace: str) -> None:
    headers = key()
    body = {"namespace": [namespace]}
    first = http.post("/namespaces", json=body, headers=headers)
    assert first.status_code == 409
    assert http.delete(f"/namespaces/{namespace}").status_code == 204
    retried = http.post("/namespaces", json=body, headers=headers)
    assert retried.status_code == 409
    assert retried.json() == first.json()
    assert http.head(f"/namespaces/{namespace}").status_code == 404


def test_retried_drop_does_not_report_a_missing_table(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    headers = key()
    assert http.delete(f"/namespaces/{namespace}/tables/t", headers=headers).status_code == 204
    assert http.delete(f"/namespaces/{namespace}/tables/t", headers=headers).status_code == 204


def test_a_key_reused_for_another_request_is_refused(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    headers = key()
    assert commit(http, namespace, "t", [set_properties(n="1")], headers=headers).status_code == 200
    other = commit(http, namespace, "t", [set_properties(n="2")], headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["type"] == "IdempotencyKeyReusedException"
    props = http.get(f"/namespaces/{namespace}/tables/t").json()["metadata"]["properties"]
    assert props["n"] == "1"


def test_a_malformed_key_is_a_bad_request(http: httpx.Client, namespace: str) -> None:
    response = http.post(
        "/namespaces", json={"namespace": ["x"]}, headers={"Idempotency-Key": "not-a-uuid"}
    )
    assert response.status_code == 400
    assert http.head("/namespaces/x").status_code == 404
