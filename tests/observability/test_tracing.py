"""With an OTLP endpoint configured, one commit over HTTP yields the span tree request ->
commit -> (prepare, metadata write, pointer swap), exported to a collector; the request id is
the trace id, and a caller's W3C traceparent is continued."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.otlp_collector import OtlpCollector, ReceivedSpan
from tests.support.server import CatalogServer

SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER
SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
}


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    started = OtlpCollector().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def server(
    collector: OtlpCollector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    env = {
        "ICEFLOE_OTLP_ENDPOINT": collector.endpoint,
        "ICEFLOE_LOG_LEVEL": "INFO",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    started = CatalogServer(tmp_path_factory.mktemp("tracing"), env=env).start()
    yield started
    started.stop()


def new_table(http: httpx.Client) -> str:
    namespace = f"t_{uuid.uuid4().hex[:8]}"
    assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
    created = http.post(f"/namespaces/{namespace}/tables", json={"name": "t", "schema": SCHEMA})
    assert created.status_code == 200, created.text
    return f"/namespaces/{namespace}/tables/t"


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[str]:
    return sorted(span.name for span in spans if span.parent_id == parent.span_id)


def test_one_commit_yields_the_span_tree(server: CatalogServer, collector: OtlpCollector) -> None:
    with server.rest_client() as http:
        table = new_table(http)
        update = {"action": "set-properties", "updates": {"k": "v"}}
        response = http.post(table, json={"requirements": [], "updates": [update]})
    assert response.status_code == 200, response.text
    trace_id = response.headers["x-request-id"]

    spans = collector.trace(trace_id, count=5)
    by_name = {span.name: span for span in spans}
    assert set(by_name) == {
        "POST updateTable",
        "commit",
        "commit.prepare",
        "metadata.write",
        "store.swap",
    }, spans
    request = by_name["POST updateTable"]
    assert request.parent_id == "" and request.kind == SERVER_KIND
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["icefloe.operation"] == "updateTable"
    assert children(spans, request) == ["commit"]
    assert children(spans, by_name["commit"]) == ["commit.prepare", "metadata.write", "store.swap"]
    line = f"path=/v1/default{table} status=200"
    log = server.logged_with(line, f"request_id={trace_id}")
    assert line in log and f"request_id={trace_id}" in log


def test_a_callers_traceparent_is_continued(
    server: CatalogServer, collector: OtlpCollector
) -> None:
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    response = httpx.get(
        f"{server.url}/v1/config",
        params={"warehouse": "default"},
        headers={**server.auth_headers, "traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == trace_id
    [request] = collector.trace(trace_id, count=1)
    assert (request.name, request.parent_id) == ("GET getConfig", parent_id)
