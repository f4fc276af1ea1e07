"""The `s3` suite: `bench_s3.py` (the embedded object store's own benchmark, kept by its
owners) run as a subprocess, its JSON folded into this run's report.

Its figures are rendered generically (one row per entry of its `results`, one column per
figure) so that the script can change its figures without breaking this runner.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.benchmarks.paths import BENCH_DIR, REPO_ROOT
from tests.benchmarks.report import Column, Kind, SuiteResult
from tests.benchmarks.workspace import Workspace

SCRIPT = BENCH_DIR / "bench_s3.py"


def _supports(flag: str) -> bool:
    shown = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return flag in shown.stdout


def _kind(key: str) -> Kind:
    if key.endswith(("_vs_disk", "_vs_moto")) or "_vs_" in key:
        return "ratio"
    if key == "repeat":
        return "int"
    return "rate"


def run(workspace: Workspace) -> SuiteResult:
    result = SuiteResult("s3", "embedded S3 endpoint (tests/benchmarks/bench_s3.py)", [])
    if not SCRIPT.exists():
        result.notes.append(f"skipped: {SCRIPT.relative_to(REPO_ROOT)} does not exist")
        return result
    out = workspace.directory("s3") / "bench_s3.json"
    command = [sys.executable, str(SCRIPT), "--out", str(out)]
    if workspace.quick and _supports("--quick"):
        command.append("--quick")
    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(out.read_text())
    figures: dict[str, dict[str, Any]] = report.get("results", {})
    keys = list(dict.fromkeys(k for entry in figures.values() for k in entry))
    result.columns = [Column("case", "case")] + [Column(k, k, _kind(k)) for k in keys]
    result.rows = [{"case": case, **entry} for case, entry in figures.items()]
    shown = ["python", str(SCRIPT.relative_to(REPO_ROOT)), *command[2:]]
    result.notes.append("ran: " + " ".join(shown).replace(str(out), "<scratch>/bench_s3.json"))
    result.notes += [
        f"{key}: {value}" for key, value in report.items() if key not in ("results", "machine")
    ]
    result.data["report"] = report
    result.data["stdout"] = completed.stdout
    return result
