"""cancelPlanning "stops the work and frees it; later fetches 404" — on every worker.

Two `icefloe serve` processes share one PostgreSQL database, as behind a load balancer: a plan
id and its plan tasks are signed tokens either answers, so a cancellation sent to one must be
seen by the other (the `cancelled_plans` table), not only remembered by the process that got it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from tests.planning.files import commit_files, fake_data_file
from tests.support.error_model import assert_error
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer, server_pair

MANIFESTS = 6
PER_MANIFEST = 5
TABLE = "/namespaces/plans/tables/t"


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CatalogServer, CatalogServer]]:
    database_url = postgres.create_database()
    env = {
        "ICEFLOE_JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "ICEFLOE_PLANNING_SUBMIT_MANIFESTS": "4",  # 6 manifests: `submitted`
        "ICEFLOE_PLANNING_TASK_MANIFESTS": "2",  # 3 plan tasks
    }
    dirs = (tmp_path_factory.mktemp("plans-a"), tmp_path_factory.mktemp("plans-b"))
    with server_pair(dirs, database_url, env) as servers:
        one = servers[0]
        catalog = RestCatalog("one", uri=one.url, warehouse="default", token=one.token)
        catalog.create_namespace("plans")
        table = catalog.create_table(
            "plans.t", schema=Schema(NestedField(1, "id", LongType(), required=False))
        )
        commit_files(
            table,
            data_groups=[
                [
                    fake_data_file(table, n, n, n)
                    for n in range(m * PER_MANIFEST, (m + 1) * PER_MANIFEST)
                ]
                for m in range(MANIFESTS)
            ],
        )
        yield servers


def test_a_plan_cancelled_on_one_worker_is_404_with_its_tasks_on_the_other(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    one, other = pair
    with one.rest_client() as first, other.rest_client() as second:
        submitted = first.post(f"{TABLE}/plan", json={})
        assert submitted.json()["status"] == "submitted", submitted.text
        plan_id = submitted.json()["plan-id"]
        # the other worker answers the plan and plans its tasks: the tokens are shared
        result = second.get(f"{TABLE}/plan/{plan_id}")
        assert result.status_code == 200, result.text
        tasks = result.json()["plan-tasks"]
        assert len(tasks) == 3
        page = second.post(f"{TABLE}/tasks", json={"plan-task": tasks[0]})
        assert page.status_code == 200, page.text

        assert first.delete(f"{TABLE}/plan/{plan_id}").status_code == 204

        assert_error(second.get(f"{TABLE}/plan/{plan_id}"), 404, "NoSuchPlanIdException")
        for task in tasks:
            assert_error(
                second.post(f"{TABLE}/tasks", json={"plan-task": task}),
                404,
                "NoSuchPlanTaskException",
            )
        assert_error(second.delete(f"{TABLE}/plan/{plan_id}"), 404, "NoSuchPlanIdException")


def test_cancelling_one_plan_leaves_an_identical_one_alone_on_every_worker(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    one, other = pair
    with one.rest_client() as first, other.rest_client() as second:
        doomed = first.post(f"{TABLE}/plan", json={}).json()["plan-id"]
        kept = first.post(f"{TABLE}/plan", json={}).json()["plan-id"]
        assert second.delete(f"{TABLE}/plan/{doomed}").status_code == 204
        assert_error(first.get(f"{TABLE}/plan/{doomed}"), 404, "NoSuchPlanIdException")
        for client in (first, second):
            answer = client.get(f"{TABLE}/plan/{kept}")
            assert answer.status_code == 200, answer.text
            assert len(answer.json()["plan-tasks"]) == 3
