"""The maintenance admin API over HTTP: policies in layers, running a job now, run records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.maintenance.control_support import (
    admin,
    metadata_location,
    rest,
    runs_of,
    small_files_table,
    table_path,
)
from tests.support.error_model import assert_error
from tests.support.server import CatalogServer

MIB = 1024 * 1024
WAREHOUSE_POLICY = "/admin/v1/warehouses/default/maintenance/policy"


@pytest.fixture
def http(catalog_server: CatalogServer) -> Iterator[httpx.Client]:
    with admin(catalog_server) as client:
        yield client


@pytest.fixture
def lake(catalog_server: CatalogServer) -> RestCatalog:
    return rest(catalog_server)


@pytest.fixture
def warehouse_policy(http: httpx.Client) -> Iterator[None]:
    """Tests that set the warehouse's policy leave it as they found it."""
    before = http.get(WAREHOUSE_POLICY).json()["settings"]
    yield
    assert http.put(WAREHOUSE_POLICY, json=before).status_code == 200


def test_policies_layer_warehouse_then_table_then_table_properties(
    http: httpx.Client, lake: RestCatalog, warehouse_policy: None
) -> None:
    table = small_files_table(lake, 1)
    policy = table_path(table) + "/maintenance/policy"
    effective = http.get(policy).json()["effective"]
    assert effective["compaction.target-file-size-bytes"] == 128 * MIB
    assert effective["expiration.older-than-days"] == 7
    assert effective["expiration.retain-last"] == 10
    assert effective["orphans.grace-period-hours"] == 24

    stored = http.put(
        WAREHOUSE_POLICY,
        json={"expiration.retain-last": 20, "compaction.target-file-size-bytes": 64 * MIB},
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["settings"] == {
        "expiration.retain-last": 20,
        "compaction.target-file-size-bytes": 64 * MIB,
    }
    body = http.get(policy).json()
    assert body["effective"]["expiration.retain-last"] == 20
    assert body["sources"]["expiration.retain-last"] == "warehouse"
    # The small-file threshold follows the target unless set: 75% of it, as Iceberg does.
    assert body["effective"]["compaction.small-file-threshold-bytes"] == 48 * MIB

    assert http.put(policy, json={"expiration.retain-last": 3}).status_code == 200
    body = http.get(policy).json()
    assert body["settings"] == {"expiration.retain-last": 3}
    assert (
        body["effective"]["expiration.retain-last"],
        body["sources"]["expiration.retain-last"],
    ) == (
        3,
        "table",
    )
    assert body["effective"]["compaction.target-file-size-bytes"] == 64 * MIB

    with table.transaction() as transaction:
        transaction.set_properties(
            {
                "icefloe.maintenance.expiration.retain-last": "2",
                "write.target-file-size-bytes": str(8 * MIB),
                "icefloe.maintenance.expiration.older-than-days": "soon",
                "icefloe.maintenance.orphans.allow-short-grace-period": "true",
                "icefloe.maintenance.orphans.grace-period-hours": "1",
            }
        )
    body = http.get(policy).json()
    assert body["effective"]["expiration.retain-last"] == 2
    assert body["effective"]["compaction.target-file-size-bytes"] == 8 * MIB
    assert body["sources"]["compaction.target-file-size-bytes"] == "properties"
    assert body["effective"]["expiration.older-than-days"] == 7
    assert set(body["ignored-properties"]) == {
        "icefloe.maintenance.expiration.older-than-days",
        "icefloe.maintenance.orphans.allow-short-grace-period",
        "icefloe.maintenance.orphans.grace-period-hours",
    }
    assert body["effective"]["orphans.grace-period-hours"] == 24

    # icefloe's own property wins over Iceberg's standard one.
    with table.transaction() as transaction:
        transaction.set_properties(
            {"icefloe.maintenance.compaction.target-file-size-bytes": str(16 * MIB)}
        )
    assert http.get(policy).json()["effective"]["compaction.target-file-size-bytes"] == 16 * MIB


def test_invalid_policies_are_refused_with_an_error_model(
    http: httpx.Client, lake: RestCatalog, warehouse_policy: None
) -> None:
    table = small_files_table(lake, 0)
    policy = table_path(table) + "/maintenance/policy"
    for body in (
        {"compaction.target-file-size-bytes": 0},
        {"compaction.target-file-size-bytes": "big"},
        {"expiration.retain-last": 0},
        {"expiration.older-than-days": -1},
        {"no.such-setting": 1},
        {
            "compaction.target-file-size-bytes": MIB,
            "compaction.small-file-threshold-bytes": 2 * MIB,
        },
    ):
        assert_error(http.put(policy, json=body), 400)
        assert_error(http.put(WAREHOUSE_POLICY, json=body), 400)
    assert http.get(policy).json()["settings"] == {}

    short = {"orphans.grace-period-hours": 2}
    message = assert_error(http.put(policy, json=short), 400, "BadRequestException")
    assert "orphans.allow-short-grace-period" in message
    allowed = http.put(policy, json={**short, "orphans.allow-short-grace-period": True})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["effective"]["orphans.grace-period-hours"] == 2

    run = table_path(table) + "/maintenance/runs"
    assert_error(http.post(run, json={"kind": "defragment"}), 400)
    assert_error(http.post(run, json={"kind": "compact", "extra": 1}), 400)
    missing = "/admin/v1/warehouses/default/namespaces/nowhere/tables/none/maintenance"
    assert_error(http.get(missing + "/policy"), 404, "NoSuchTableException")
    assert_error(http.post(missing + "/runs", json={"kind": "compact"}), 404)
    assert_error(http.get("/admin/v1/warehouses/nope/maintenance/policy"), 404)
    assert_error(http.get("/admin/v1/maintenance/runs/999999999"), 404)
    assert_error(http.get("/admin/v1/maintenance/runs", params={"pageToken": "%%"}), 400)


def test_only_admins_may_read_or_change_maintenance(
    catalog_server: CatalogServer, http: httpx.Client, lake: RestCatalog
) -> None:
    table = small_files_table(lake, 0)
    tokens = {
        permission: http.post(
            "/admin/v1/tokens",
            json={
                "name": f"maint-{permission}",
                "permission": permission,
                "warehouses": ["default"],
            },
        ).json()["token"]
        for permission in ("read-only", "read-write")
    }
    base = table_path(table) + "/maintenance"
    for token in tokens.values():
        headers = {"Authorization": f"Bearer {token}"}
        for method, path, body in (
            ("GET", WAREHOUSE_POLICY, None),
            ("PUT", WAREHOUSE_POLICY, {"compaction.enabled": False}),
            ("GET", base + "/policy", None),
            ("PUT", base + "/policy", {"compaction.enabled": False}),
            ("POST", base + "/runs", {"kind": "compact"}),
            ("GET", "/admin/v1/maintenance/runs", None),
        ):
            response = httpx.request(
                method, catalog_server.url + path, json=body, headers=headers, timeout=30
            )
            assert_error(response, 403, "ForbiddenException")
    assert http.get(base + "/policy").json()["settings"] == {}
    assert runs_of(catalog_server, table) == []


def test_a_run_now_is_recorded_with_its_figures_and_a_dry_run_changes_nothing(
    catalog_server: CatalogServer, http: httpx.Client, lake: RestCatalog
) -> None:
    table = small_files_table(lake, 6)
    runs = table_path(table) + "/maintenance/runs"
    before = metadata_location(catalog_server, table)

    dry = http.post(runs, json={"kind": "compact", "dry-run": True})
    assert dry.status_code == 200, dry.text
    planned = dry.json()
    assert (planned["kind"], planned["trigger"], planned["dry-run"]) == ("compact", "manual", True)
    assert planned["outcome"] == "succeeded"
    assert planned["files-before"] == 6
    assert planned["bytes-rewritten"] == 0
    assert metadata_location(catalog_server, table) == before

    done = http.post(runs, json={"kind": "compact"}).json()
    assert done["outcome"] == "succeeded", done
    assert (done["files-before"], done["files-after"]) == (6, 1)
    assert done["bytes-rewritten"] > 0
    assert datetime.fromisoformat(done["finished-at"]) >= datetime.fromisoformat(done["started-at"])
    assert done["details"]["committed-snapshot-id"] is not None
    assert metadata_location(catalog_server, table) != before
    rows = lake.load_table(table.name()).scan().to_arrow()
    assert sorted(rows["id"].to_pylist()) == list(range(6))

    assert http.get(f"/admin/v1/maintenance/runs/{done['id']}").json() == done
    listed = runs_of(catalog_server, table)
    assert [r["id"] for r in listed] == [done["id"], planned["id"]]
    assert [r["id"] for r in runs_of(catalog_server, table, kind="compact")] == [
        done["id"],
        planned["id"],
    ]

    first = runs_of(catalog_server, table, pageSize=1)
    assert [r["id"] for r in first] == [done["id"]]
    namespace, name = table.name()[0], table.name()[1]
    page = http.get(
        "/admin/v1/maintenance/runs",
        params={"warehouse": "default", "namespace": namespace, "table": name, "pageSize": 1},
    ).json()
    following = http.get(
        "/admin/v1/maintenance/runs",
        params={
            "warehouse": "default",
            "namespace": namespace,
            "table": name,
            "pageSize": 1,
            "pageToken": page["next-page-token"],
        },
    ).json()
    assert [r["id"] for r in following["runs"]] == [planned["id"]]
    assert following["next-page-token"] is None


def test_a_job_disabled_by_policy_is_recorded_as_skipped(
    catalog_server: CatalogServer, http: httpx.Client, lake: RestCatalog
) -> None:
    table = small_files_table(lake, 2, {"icefloe.maintenance.compaction.enabled": "false"})
    before = metadata_location(catalog_server, table)
    run = http.post(table_path(table) + "/maintenance/runs", json={"kind": "compact"}).json()
    assert run["outcome"] == "skipped"
    assert "disabled" in run["error"]
    assert metadata_location(catalog_server, table) == before
