"""In-process writers on threads, measured the way the HTTP driver measures its writers, for
the baselines that have no server: the same counts, the same latencies, the same conflicts."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from tests.benchmarks.stats import CommitResult, Latency

MAX_ERRORS = 20


class Writer(Protocol):
    def try_append(self) -> bool:
        """Append once: True when it landed, False when it lost a race (and has refreshed)."""
        ...


def run_writers(writers: Sequence[Writer], appends_per_writer: int, seconds: float) -> CommitResult:
    appends: list[int] = []
    attempts: list[int] = []
    counts = {"conflicts": 0, "errors": 0}
    lock = threading.Lock()
    start = threading.Barrier(len(writers) + 1)
    deadline = 0

    def loop(writer: Writer) -> None:
        start.wait()
        landed = 0
        while landed < appends_per_writer and time.perf_counter_ns() < deadline:
            first_try = time.perf_counter_ns()
            while True:
                sent = time.perf_counter_ns()
                try:
                    ok = writer.try_append()
                except Exception as error:  # counted and shown; the run goes on
                    ok = False
                    with lock:
                        counts["errors"] += 1
                        failed = counts["errors"]
                    sys.stderr.write(f"baseline append failed: {error!r}\n")
                    if failed > MAX_ERRORS:
                        return
                    continue
                now = time.perf_counter_ns()
                with lock:
                    attempts.append(now - sent)
                    if ok:
                        appends.append(now - first_try)
                    else:
                        counts["conflicts"] += 1
                if ok:
                    landed += 1
                    break

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    started = time.perf_counter_ns()
    deadline = started + int(seconds * 1e9)
    cpu = time.process_time()
    start.wait()
    for thread in threads:
        thread.join()
    wall = (time.perf_counter_ns() - started) / 1e9
    return CommitResult(
        appends=len(appends),
        conflicts=counts["conflicts"],
        errors=counts["errors"],
        seconds=wall,
        append=Latency.of_ns(appends),
        attempt=Latency.of_ns(attempts),
        client_cpu=(time.process_time() - cpu) / wall,
    )
