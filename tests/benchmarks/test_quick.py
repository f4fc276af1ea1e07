"""The benchmark runner itself works: its quick mode runs a cheap suite end to end and writes
the report, and the load generator counts what a known server answers. No figure is checked:
timings on a shared machine prove nothing; the benchmarks are for reading, not asserting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.benchmarks.bench_polaris import table_path
from tests.benchmarks.loadgen import LoadSpec, Request, run_load
from tests.benchmarks.paths import REPO_ROOT
from tests.benchmarks.polaris_tree import Tree, create_tree
from tests.benchmarks.polarisload import PolarisLoadSpec, TableTarget, run_polaris_load
from tests.benchmarks.servers import auth_headers, bare_server, catalog_servers

pytestmark = pytest.mark.slow


def test_load_generator_counts_every_answer_of_a_bare_server() -> None:
    with bare_server(b'{"ok":true}', '"tag"') as server:
        target = [("127.0.0.1", server.port)]
        fresh = run_load(LoadSpec(target, [Request("/t")], 4, 0.5, 0.1), [server.pid])
        revalidated = run_load(
            LoadSpec(
                target,
                [Request("/t", headers={"If-None-Match": '"tag"'})],
                2,
                0.5,
                expect=(304,),
            )
        )
    assert fresh.requests > 0 and fresh.statuses == {"200": fresh.requests}
    assert fresh.unexpected == fresh.errors == 0
    assert fresh.mean_body_bytes == len(b'{"ok":true}')
    assert fresh.server_cpu is not None
    assert revalidated.requests > 0 and revalidated.unexpected == 0
    assert revalidated.mean_body_bytes == 0


def run_quick(out: Path, *suites: str) -> dict[str, Any]:
    """`python -m tests.benchmarks --quick` on `suites`: its report, once it printed each."""
    command = [sys.executable, "-m", "tests.benchmarks", "--quick", "--out", str(out)]
    completed = subprocess.run(
        [*command, *(f"--suite={name}" for name in suites)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert all(name in completed.stdout for name in suites)
    report: dict[str, Any] = json.loads(out.read_text())
    assert report["quick"] is True and report["failed"] == []
    return report


def test_quick_run_of_one_suite_prints_its_table_and_writes_the_report(tmp_path: Path) -> None:
    report = run_quick(tmp_path / "results.json", "metadata_growth")
    suite = report["suites"]["metadata_growth"]
    assert [row["snapshots"] for row in suite["rows"]] == [10, 1_000]
    assert all(row["errors"] == 0 for row in suite["rows"])
    assert {"cores", "cpu_model", "python", "sqlite", "packages"} <= set(report["machine"])


def test_append_suites_run_real_appends_and_count_the_requests_of_one(tmp_path: Path) -> None:
    report = run_quick(tmp_path / "results.json", "wide_commit", "pyiceberg_append")
    wide = report["suites"]["wide_commit"]["rows"]
    assert [row["columns"] for row in wide] == [13, 999]
    appends = report["suites"]["pyiceberg_append"]
    assert [row["warehouse"] for row in appends["rows"]] == ["embedded", "file"]
    assert all(row["errors"] == 0 for row in [*wide, *appends["rows"]])
    [requests] = appends["tables"]
    commits = {
        row["warehouse"]: row["per_append"]
        for row in requests["rows"]
        if row["operation"].startswith("POST /v1/default/namespaces/{ns}/tables/")
    }
    assert commits == {"embedded": 1, "file": 1}
    assert any(
        row["warehouse"] == "embedded" and row["port"] == "S3" and row["caller"] == "client"
        for row in requests["rows"]
    )


def test_polaris_drivers_build_the_tree_and_land_every_paced_append(tmp_path: Path) -> None:
    tree = Tree(2, 2, tables_per_leaf=1, views_per_leaf=1, table_columns=20, table_properties=5)
    with catalog_servers(tmp_path, None) as [server]:
        headers = auth_headers(server.data_dir)
        created = create_tree(f"{server.url}/v1/default", headers, tree, 4, 2)
        assert [(c.kind, c.count) for c in created] == [
            ("namespaces", 3),
            ("tables", 2),
            ("views", 2),
        ]
        with httpx.Client(base_url=server.url, headers=headers) as http:
            listed = http.get("/v1/default/namespaces", params={"parent": "ns_0"}).json()
            assert sorted(listed["namespaces"]) == [["ns_0", "ns_1"], ["ns_0", "ns_2"]]
            paths = [table_path(levels, name) for levels, name in tree.tables()]
            targets = [
                TableTarget(path, list(levels), name, http.get(path).json()["metadata"])
                for path, (levels, name) in zip(paths, tree.tables(), strict=True)
            ]
            assert len(targets[0].metadata["schemas"][0]["fields"]) == 20
            target = ("127.0.0.1", server.port)
            paced = run_polaris_load(
                PolarisLoadSpec("paced", target, headers, targets, 60, rate=20.0, commits=6)
            )
            assert paced.streams["commits"].statuses == {"200": 6} and paced.errors == 0
            for path in paths:
                assert len(http.get(path).json()["metadata"]["snapshots"]) == 3
            mix = run_polaris_load(
                PolarisLoadSpec("mix", target, headers, targets, 0.5, readers=2, writers=2)
            )
            assert mix.errors == 0 and mix.streams["reads"].requests > 0
            assert set(mix.streams["writes"].statuses) <= {"200", "409"}
            landed = sum(len(http.get(p).json()["metadata"]["snapshots"]) for p in paths)
            assert landed == 6 + mix.streams["writes"].requests
