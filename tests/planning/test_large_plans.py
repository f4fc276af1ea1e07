"""Planning a large table: `submitted`, plan tasks fetched page by page, and cancel.

At the issue's size: 10,000 data files in 100 manifests (about 20 s with the table's set-up,
on 2 busy cores), against the test server's thresholds (conftest: `submitted` above 24
manifests, 8 per plan task).
"""

from __future__ import annotations

import re

import httpx
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import LongType, NestedField

from tests.planning.conftest import SUBMIT_MANIFESTS, TASK_MANIFESTS
from tests.planning.files import commit_files, fake_data_file
from tests.support.error_model import assert_error
from tests.support.server import CatalogServer

MANIFESTS = 100
PER_MANIFEST = 100
FILES = MANIFESTS * PER_MANIFEST


@pytest.fixture(scope="module")
def large(client_planned: RestCatalog) -> Table:
    """FILES data files, each holding ids [10n, 10n + 9], in MANIFESTS manifests: one commit."""
    client_planned.create_namespace("large")
    table = client_planned.create_table(
        "large.t", schema=Schema(NestedField(1, "id", LongType(), required=False))
    )
    groups = [
        [
            fake_data_file(table, n, 10 * n, 10 * n + 9)
            for n in range(m * PER_MANIFEST, (m + 1) * PER_MANIFEST)
        ]
        for m in range(MANIFESTS)
    ]
    return commit_files(table, data_groups=groups)


def fetch_all(api: httpx.Client, tasks: list[str]) -> list[str]:
    paths: list[str] = []
    for task in tasks:
        page = api.post("/namespaces/large/tables/t/tasks", json={"plan-task": task})
        assert page.status_code == 200, page.text
        body = page.json()
        assert not body.get("plan-tasks")
        paths += [t["data-file"]["file-path"] for t in body["file-scan-tasks"]]
    return paths


def metric(server: CatalogServer, pattern: str) -> float:
    text = httpx.get(f"{server.url}/metrics", headers=server.auth_headers).text
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_large_plan_is_submitted_then_fetched_page_by_page(
    large: Table, api: httpx.Client
) -> None:
    assert MANIFESTS > SUBMIT_MANIFESTS
    submitted = api.post("/namespaces/large/tables/t/plan", json={})
    assert submitted.status_code == 200
    assert submitted.json().keys() == {"status", "plan-id"}
    assert submitted.json()["status"] == "submitted"
    plan_id = submitted.json()["plan-id"]

    result = api.get(f"/namespaces/large/tables/t/plan/{plan_id}").json()
    assert result["status"] == "completed"
    assert len(result["plan-tasks"]) == -(-MANIFESTS // TASK_MANIFESTS)
    assert "file-scan-tasks" not in result
    paths = fetch_all(api, result["plan-tasks"])
    assert len(paths) == len(set(paths)) == FILES


def test_a_filter_prunes_files_by_their_metrics(large: Table, api: httpx.Client) -> None:
    """Unpartitioned: no manifest is pruned (no partition summaries), every file by bounds."""
    body = {"filter": {"type": "lt", "term": "id", "value": 10 * PER_MANIFEST + 5}}
    plan_id = api.post("/namespaces/large/tables/t/plan", json=body).json()["plan-id"]
    tasks = api.get(f"/namespaces/large/tables/t/plan/{plan_id}").json()["plan-tasks"]
    assert len(fetch_all(api, tasks)) == PER_MANIFEST + 1


def test_cancel_frees_the_plan_and_later_fetches_are_404(
    large: Table, api: httpx.Client, planning_server: CatalogServer
) -> None:
    plan_id = api.post("/namespaces/large/tables/t/plan", json={}).json()["plan-id"]
    tasks = api.get(f"/namespaces/large/tables/t/plan/{plan_id}").json()["plan-tasks"]
    fetch_all(api, tasks[:1])

    assert api.delete(f"/namespaces/large/tables/t/plan/{plan_id}").status_code == 204

    assert_error(
        api.get(f"/namespaces/large/tables/t/plan/{plan_id}"), 404, "NoSuchPlanIdException"
    )
    assert_error(
        api.post("/namespaces/large/tables/t/tasks", json={"plan-task": tasks[1]}),
        404,
        "NoSuchPlanTaskException",
    )
    assert_error(
        api.delete(f"/namespaces/large/tables/t/plan/{plan_id}"), 404, "NoSuchPlanIdException"
    )
    # nor under another spelling of the same id (the cancellation is kept under a digest of the
    # id's text): base64's decoder alone skips foreign characters and ignores the unused low
    # bits of the last character (the signature's 43rd holds 2 of them)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(plan_id[-1]) ^ 1]
    for respelled in (plan_id[:5] + "!!!!" + plan_id[5:], plan_id[:-1] + last):
        assert_error(
            api.get(f"/namespaces/large/tables/t/plan/{respelled}"), 404, "NoSuchPlanIdException"
        )
    # the planner's own accounting: no page of any plan is being held
    held = metric(planning_server, r"^icefloe_planning_pages_active(?:\{[^}]*\})? (\S+)$")
    assert held == 0.0


def test_a_tampered_or_misused_token_is_404(large: Table, api: httpx.Client) -> None:
    plan_id = api.post("/namespaces/large/tables/t/plan", json={}).json()["plan-id"]
    tasks = api.get(f"/namespaces/large/tables/t/plan/{plan_id}").json()["plan-tasks"]
    payload, signature = tasks[0].split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert_error(
        api.post("/namespaces/large/tables/t/tasks", json={"plan-task": forged}),
        404,
        "NoSuchPlanTaskException",
    )
    assert_error(  # a plan id is not a plan task
        api.post("/namespaces/large/tables/t/tasks", json={"plan-task": plan_id}),
        404,
        "NoSuchPlanTaskException",
    )


def test_the_manifest_cache_serves_repeated_plans(
    large: Table, api: httpx.Client, planning_server: CatalogServer
) -> None:
    hit = r'^icefloe_planning_manifest_cache_total\{result="hit"\} (\S+)$'
    body = {"filter": {"type": "lt", "term": "id", "value": 10}}
    api.post("/namespaces/large/tables/t/plan", json=body)
    before = metric(planning_server, hit)
    api.post("/namespaces/large/tables/t/plan", json=body)
    assert metric(planning_server, hit) > before


def test_a_plan_answered_at_once_with_more_than_one_page_hands_out_plan_tasks(
    client_planned: RestCatalog, api: httpx.Client
) -> None:
    """Between one page and the `submitted` threshold: `completed` at once, as plan tasks."""
    manifests = TASK_MANIFESTS + 2
    assert manifests <= SUBMIT_MANIFESTS
    client_planned.create_namespace("paged")
    table = client_planned.create_table(
        "paged.t", schema=Schema(NestedField(1, "id", LongType(), required=False))
    )
    commit_files(table, data_groups=[[fake_data_file(table, m, m, m)] for m in range(manifests)])

    answer = api.post("/namespaces/paged/tables/t/plan", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
    tasks = answer.json()["plan-tasks"]
    assert len(tasks) == 2
    paths = []
    for task in tasks:
        page = api.post("/namespaces/paged/tables/t/tasks", json={"plan-task": task})
        assert page.status_code == 200, page.text
        paths += [t["data-file"]["file-path"] for t in page.json()["file-scan-tasks"]]
    assert len(set(paths)) == manifests
