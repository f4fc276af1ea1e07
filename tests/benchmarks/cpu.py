"""CPU used by other processes (the servers under load), from /proc, as a share of one core.

A figure of 1.0 means the process kept one core busy for the whole interval: for a catalog
process that is the GIL's ceiling, and the sign that it, not the client, was the bottleneck.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks.paths import REPO_ROOT

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system time of `pid` (0 when it is gone or /proc is absent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


class CpuMeter:
    """Started on construction; `utilization()` is CPU seconds per wall second since then."""

    def __init__(self, pids: Sequence[int]) -> None:
        self._pids = list(pids)
        self._wall = time.perf_counter()
        self._cpu = sum(process_cpu_seconds(pid) for pid in self._pids)

    def utilization(self) -> float:
        wall = time.perf_counter() - self._wall
        cpu = sum(process_cpu_seconds(pid) for pid in self._pids) - self._cpu
        return cpu / wall if wall > 0 else 0.0


def run_driver(
    module: str, spec: dict[str, Any], timeout: float, watch_pids: Sequence[int] = ()
) -> tuple[dict[str, Any], float | None]:
    """Run a load driver module in a fresh client process (the spec on stdin, its result as JSON
    on stdout), so client and server each get a core; returns the result and, when `watch_pids`
    are given, the servers' CPU utilization over the run."""
    meter = CpuMeter(watch_pids)
    completed = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )
    server_cpu = meter.utilization()
    if completed.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result, (server_cpu if watch_pids else None)
