"""Run the benchmark suites and print each figure next to its baseline.

    python -m tests.benchmarks [--suite NAME ...] [--quick] [--out results.json] [--keep]

Suites run in the order given (all of them by default). A suite that fails is reported and the
others still run; the exit status is then 1. Results, the machine description and the load
average around each suite go to `--out` (default `.bench/results-<time>.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from tests.benchmarks import (
    bench_commit,
    bench_list,
    bench_load_table,
    bench_metadata_growth,
    bench_planning,
    bench_polaris,
    bench_pyiceberg_append,
    bench_search,
    bench_wide_commit,
    external_s3,
)
from tests.benchmarks.machine import describe, load_average, summary
from tests.benchmarks.paths import REPO_ROOT
from tests.benchmarks.report import SuiteResult, render
from tests.benchmarks.workspace import Workspace

SUITES: dict[str, Callable[[Workspace], SuiteResult]] = {
    "load_table": bench_load_table.run,
    "commit": bench_commit.run,
    "metadata_growth": bench_metadata_growth.run,
    "wide_commit": bench_wide_commit.run,
    "pyiceberg_append": bench_pyiceberg_append.run,
    "list": bench_list.run,
    "search": bench_search.run,
    "planning": bench_planning.run,
    "s3": external_s3.run,
    "polaris": bench_polaris.run,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--suite",
        action="append",
        choices=list(SUITES),
        help="run this suite (repeatable; default: all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller catalogs, shorter runs (~2-3 minutes)"
    )
    parser.add_argument("--out", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (databases, server logs)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.suite or list(SUITES)
    started = datetime.now(UTC)
    out = args.out or REPO_ROOT / ".bench" / f"results-{started:%Y%m%d-%H%M%S}.json"
    # Piped output (a log, CI) gets room for the widest table instead of rich's 80 columns.
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    console = Console() if wide else Console(width=200)
    console.print(
        f"[bold]icefloe benchmarks[/bold] ({'quick' if args.quick else 'full'}): {', '.join(names)}"
    )
    console.print(escape(summary(describe(None))) + "\n", style="dim", highlight=False)
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "suites": {},
        "failed": [],
    }
    workspace = Workspace(quick=args.quick, keep=args.keep)
    clock = time.perf_counter()
    try:
        for name in names:
            before = load_average()
            suite_clock = time.perf_counter()
            try:
                result = SUITES[name](workspace)
            except Exception:
                console.print(f"[red]suite {name} failed:[/red]")
                console.print(traceback.format_exc(), markup=False, highlight=False)
                report["failed"].append({"suite": name, "error": traceback.format_exc()})
                continue
            result.seconds = time.perf_counter() - suite_clock
            render(result, console)
            entry = result.to_json()
            entry["load_average"] = {"before": before, "after": load_average()}
            report["suites"][name] = entry
        report["machine"] = describe(workspace.postgres_facts())
    finally:
        workspace.close()
        if args.keep:
            console.print(f"scratch directory kept: {workspace.root}")
    report["seconds"] = round(time.perf_counter() - clock, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    console.print(f"total {report['seconds']:.0f} s; results written to {out}")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
