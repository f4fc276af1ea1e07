"""CPU used by other processes (the servers under load), from /proc, as a share of one core.

A figure of 1.0 means the process kept one core busy for the whole interval: for a catalog
process that is the GIL's ceiling, and the sign that it, not the client, was the bottleneck.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

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
