"""The benchmark runner itself works: its quick mode runs a cheap suite end to end and writes
the report, and the load generator counts what a known server answers. No figure is checked:
timings on a shared machine prove nothing; the benchmarks are for reading, not asserting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.loadgen import LoadSpec, Request, run_load
from tests.benchmarks.paths import REPO_ROOT
from tests.benchmarks.servers import bare_server

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


def test_quick_run_of_one_suite_prints_its_table_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    command = [sys.executable, "-m", "tests.benchmarks", "--suite", "metadata_growth", "--quick"]
    completed = subprocess.run(
        [*command, "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "metadata_growth" in completed.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["failed"] == []
    suite = report["suites"]["metadata_growth"]
    assert [row["snapshots"] for row in suite["rows"]] == [10, 1_000]
    assert all(row["errors"] == 0 for row in suite["rows"])
    assert {"cores", "cpu_model", "python", "sqlite", "packages"} <= set(report["machine"])
