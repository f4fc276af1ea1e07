"""GET /metrics after a scripted workload over HTTP: each counter moved by exactly what the
workload did, and the text is what Prometheus' own parser reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.error_model import assert_error
from tests.support.ports import free_port
from tests.support.prometheus import Samples, delta, scrape, value
from tests.support.server import CatalogServer

ROWS = pa.table({"id": pa.array([1, 2], pa.int64())})
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """Its own server (counters start at zero), its warehouse on the embedded store (vended
    credentials, signing), /metrics also on a port of its own."""
    started = CatalogServer(
        tmp_path_factory.mktemp("metrics"),
        storage="embedded",
        env={"ICEFLOE_METRICS_PORT": str(free_port())},
    ).start()
    yield started
    started.stop()


def metrics_port(server: CatalogServer) -> int:
    return int(server.env["ICEFLOE_METRICS_PORT"])


def lake(server: CatalogServer) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)


def admin(server: CatalogServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=120)


def table_url(ns: str, name: str) -> str:
    return f"/v1/default/namespaces/{ns}/tables/{name}"


def requests_of(before: Samples, after: Samples, operation: str, status: int) -> float:
    return delta(
        before, after, "icefloe_http_requests_total", operation=operation, status=str(status)
    )


def test_a_scripted_workload_moves_each_counter_by_what_it_did(server: CatalogServer) -> None:
    catalog = lake(server)
    ns = f"m_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(ns)
    table = catalog.create_table(f"{ns}.t", schema=ROWS.schema)
    with admin(server) as http:
        created = http.post(
            f"/v1/default/namespaces/{ns}/tables", json={"name": "plain", "schema": SCHEMA_JSON}
        )
        assert created.status_code == 200, created.text
        before = scrape(server.url, server.token)

        for _ in range(3):  # three PyIceberg appends: three commits landed
            table.append(ROWS)
        stale = {
            "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}],
            "updates": [{"action": "set-properties", "updates": {"k": "v"}}],
        }
        assert_error(http.post(table_url(ns, "t"), json=stale), 409, "CommitFailedException")
        vended = http.get(table_url(ns, "plain"), headers=VENDED)  # never vended before
        assert vended.status_code == 200 and vended.json()["storage-credentials"], vended.text
        for _ in range(2):  # the fast path answers these
            assert http.get(table_url(ns, "plain")).status_code == 200
        location = table.location()
        signed = http.post(
            table_url(ns, "t") + "/sign",
            json={"region": "auto", "uri": f"{server.s3_url}/x", "method": "GET", "headers": {}},
        )
        assert signed.status_code == 403, signed.text  # outside the table: refused
        uri = f"{server.s3_url}/{location.removeprefix('s3://')}/data/x.parquet"
        signed = http.post(
            table_url(ns, "t") + "/sign",
            json={"region": "auto", "uri": uri, "method": "GET", "headers": {}},
        )
        assert signed.status_code == 200, signed.text
        path = f"/admin/v1/warehouses/default/namespaces/{ns}/tables/t/maintenance/runs"
        run = http.post(path, json={"kind": "compact"}).json()
        assert run["outcome"] == "succeeded" and run["files-before"] == 3, run
        after = scrape(server.url, server.token)

    assert requests_of(before, after, "updateTable", 200) == 3
    assert requests_of(before, after, "updateTable", 409) == 1
    assert requests_of(before, after, "loadTable", 200) == 3
    assert requests_of(before, after, "signRequest", 200) == 1
    assert requests_of(before, after, "signRequest", 403) == 1
    assert requests_of(before, after, "runMaintenanceJob", 200) == 1
    count = "icefloe_http_request_duration_seconds_count"
    assert delta(before, after, count, operation="updateTable") == 4
    assert delta(before, after, count, operation="loadTable") == 3
    buckets = "icefloe_http_request_duration_seconds_bucket"
    assert delta(before, after, buckets, operation="loadTable", le="+Inf") == 3
    assert delta(before, after, buckets, operation="loadTable", le="10.0") == 3
    assert delta(before, after, "icefloe_http_request_duration_seconds_sum", operation="loadTable")
    # Three appends and the compaction's own commit landed; the stale one conflicted.
    assert delta(before, after, "icefloe_commits_total", outcome="landed") == 4
    assert delta(before, after, "icefloe_commits_total", outcome="conflict") == 1
    assert delta(before, after, "icefloe_commits_total", outcome="failed") == 0
    assert delta(before, after, "icefloe_commit_retries_total") == 0
    # Handed to a client: the one vended load (signing and compaction vend for themselves).
    assert delta(before, after, "icefloe_vended_credentials_total", vendor="embedded") == 1
    assert delta(before, after, "icefloe_signing_requests_total", outcome="signed") == 1
    assert delta(before, after, "icefloe_signing_requests_total", outcome="refused") == 1
    runs = "icefloe_maintenance_runs_total"
    assert delta(before, after, runs, job="compact", outcome="succeeded") == 1
    files = "icefloe_maintenance_files_total"
    assert delta(before, after, files, job="compact", action="rewritten") == 3
    assert (
        delta(before, after, "icefloe_maintenance_bytes_total", job="compact")
        == (run["bytes-rewritten"])
    )
    # PyIceberg writes data files to the embedded store in multipart uploads.
    s3 = "icefloe_s3_requests_total"
    assert delta(before, after, s3, operation="UploadPart", status="200") >= 3
    assert delta(before, after, "icefloe_s3_bytes_total", operation="UploadPart", direction="in")
    assert delta(before, after, "icefloe_s3_bytes_total", operation="GetObject", direction="out")
    assert value(after, "icefloe_db_pool_size") > 0
    assert value(after, "icefloe_db_pool_checked_out") >= 0


def test_metrics_on_the_catalog_port_need_an_admin_token(server: CatalogServer) -> None:
    assert_error(httpx.get(f"{server.url}/metrics"), 401, "NotAuthorizedException")
    with admin(server) as http:
        body = {"name": "reader", "permission": "read-only", "warehouses": ["default"]}
        reader = http.post("/admin/v1/tokens", json=body).json()["token"]
    refused = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {reader}"})
    assert_error(refused, 403, "ForbiddenException")


def test_the_metrics_port_answers_without_a_token_and_serves_nothing_else(
    server: CatalogServer,
) -> None:
    url = f"http://127.0.0.1:{metrics_port(server)}"
    samples = scrape(url)
    assert value(samples, "icefloe_db_pool_size") > 0
    assert_error(httpx.get(f"{url}/v1/config"), 404)


SCHEMA_JSON = {
    "type": "struct",
    "schema-id": 0,
    "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
}
