"""`icefloe maintain` as an operator types it, against the database of a running server."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from catalog.store.database import WRITE_OPTIONS, create_catalog_engine
from tests.maintenance.control_support import (
    admin,
    metadata_location,
    rest,
    runs_of,
    small_files_table,
    table_path,
)
from tests.support.server import CatalogServer

# The CLI opens the store the same way on both backends; the store itself is tested on both
# through the API tests, so one backend keeps these subprocess-heavy tests short.
pytestmark = pytest.mark.parametrize("catalog_server", ["sqlite"], indirect=True)


def icefloe(server: CatalogServer, *args: str) -> subprocess.CompletedProcess[str]:
    store = ["--data-dir", str(server.data_dir)]
    if server.database_url:
        store += ["--database-url", server.database_url]
    return subprocess.run(
        [sys.executable, "-m", "catalog", "maintain", *args, *store],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def dotted(table: Any) -> str:
    return ".".join(table.name())


def test_maintain_runs_a_job_now_and_records_it_as_manual(catalog_server: CatalogServer) -> None:
    table = small_files_table(rest(catalog_server), 6)
    before = metadata_location(catalog_server, table)

    planned = icefloe(catalog_server, dotted(table), "--compact", "--dry-run", "-w", "default")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "compact (dry run)" in planned.stdout
    assert "succeeded" in planned.stdout
    assert metadata_location(catalog_server, table) == before

    done = icefloe(catalog_server, dotted(table), "--compact")
    assert done.returncode == 0, done.stdout + done.stderr
    assert metadata_location(catalog_server, table) != before

    runs = runs_of(catalog_server, table)
    assert [(r["kind"], r["trigger"], r["dry-run"]) for r in runs] == [
        ("compact", "manual", False),
        ("compact", "manual", True),
    ]
    assert (runs[0]["files-before"], runs[0]["files-after"]) == (6, 1)
    assert runs[0]["bytes-rewritten"] > 0
    assert f"{runs[0]['bytes-rewritten']:,}" in done.stdout

    listed = icefloe(catalog_server, "runs", dotted(table))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "6 → 1" in listed.stdout
    assert "compact (dry run)" in listed.stdout
    assert listed.stdout.count("manual") == 2


def test_maintain_policy_shows_and_sets_a_tables_policy(catalog_server: CatalogServer) -> None:
    table = small_files_table(rest(catalog_server), 0)
    changed = icefloe(
        catalog_server,
        "policy",
        dotted(table),
        "--set",
        "expiration.retain-last=4",
        "--set",
        "compaction.enabled=false",
    )
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "expiration.retain-last" in changed.stdout
    with admin(catalog_server) as http:
        stored = http.get(table_path(table) + "/maintenance/policy").json()
    assert stored["settings"] == {"expiration.retain-last": 4, "compaction.enabled": False}

    refused = icefloe(catalog_server, "policy", dotted(table), "--set", "expiration.retain-last=0")
    assert refused.returncode == 1
    assert "Invalid maintenance policy" in refused.stdout
    with admin(catalog_server) as http:
        again = http.get(table_path(table) + "/maintenance/policy").json()
    assert again["settings"] == stored["settings"]

    shown = icefloe(catalog_server, "policy")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "orphans.grace-period-hours" in shown.stdout


def test_maintain_refuses_while_another_process_holds_the_tables_lease(
    catalog_server: CatalogServer,
) -> None:
    table = small_files_table(rest(catalog_server), 2)
    url = catalog_server.database_url or f"sqlite:///{catalog_server.data_dir / 'catalog.db'}"
    # Write transactions as the store opens them (BEGIN IMMEDIATE on SQLite): the server
    # writes to the same database meanwhile.
    engine = create_catalog_engine(url, pool_size=1).execution_options(**WRITE_OPTIONS)
    namespace, name = table.name()
    try:
        with engine.begin() as connection:
            object_id = connection.execute(
                text(
                    "SELECT o.id FROM catalog_objects o JOIN namespaces n "
                    "ON n.id = o.namespace_id WHERE n.name = :namespace AND o.name = :name"
                ),
                {"namespace": namespace, "name": name},
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO maintenance_leases (key, holder, acquired_at, expires_at) "
                    "VALUES (:key, 'another-process', :now, :until)"
                ),
                {
                    "key": f"table:{object_id}",
                    "now": datetime.now(UTC),
                    "until": datetime.now(UTC) + timedelta(hours=1),
                },
            )
        busy = icefloe(catalog_server, dotted(table), "--expire")
        assert busy.returncode == 1
        assert "already running" in busy.stdout
        assert runs_of(catalog_server, table) == []
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("DELETE FROM maintenance_leases WHERE holder = 'another-process'")
            )
        engine.dispose()

    done = icefloe(catalog_server, dotted(table), "--expire", "--orphans")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["kind"] for r in runs_of(catalog_server, table)] == ["orphans", "expire"]


def test_maintain_explains_bad_usage(catalog_server: CatalogServer) -> None:
    table = small_files_table(rest(catalog_server), 0)
    nothing = icefloe(catalog_server, dotted(table))
    assert nothing.returncode == 1
    assert "--compact" in nothing.stdout
