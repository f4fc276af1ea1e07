"""Append commits over HTTP, from a separate client process: each writer appends to its table
through updateTable until it has landed its share (or time is up), one request at a time.

A writer that loses a race (409: its parent snapshot is no longer `main`) reloads the table and
tries again at once, as PyIceberg does minus its back-off sleep: the figure is the catalog's,
not a client retry policy's. Count-bounded rather than time-bounded on purpose: every table
grows by the same number of snapshots in every system compared, so the metadata each commit
parses and writes is the same size across the catalog and its baselines.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson

from tests.benchmarks.appends import TableHead, append_manifest_list, next_append
from tests.benchmarks.cpu import run_driver
from tests.benchmarks.http1 import Connection, encode_request
from tests.benchmarks.stats import CommitResult, Latency

MAX_ERRORS = 20


@dataclass(frozen=True)
class WriterSpec:
    target: tuple[str, int]
    namespace: str
    table: str
    metadata: dict[str, Any]  # the table's metadata when the writer starts

    @property
    def path(self) -> str:
        return f"/v1/default/namespaces/{self.namespace}/tables/{self.table}"


@dataclass(frozen=True)
class CommitSpec:
    writers: list[WriterSpec]
    headers: dict[str, str]
    appends_per_writer: int
    seconds: float


async def _commit(spec: CommitSpec) -> CommitResult:
    deadline = time.perf_counter_ns() + int(spec.seconds * 1e9)
    appends: list[int] = []
    attempts: list[int] = []
    conflicts = errors = 0

    async def writer(plan: WriterSpec) -> None:
        nonlocal conflicts, errors
        host = f"{plan.target[0]}:{plan.target[1]}"
        refresh = encode_request("GET", plan.path, host, spec.headers)
        identifier = (plan.namespace, plan.table)
        head = TableHead.of(plan.metadata)
        connection = await Connection.open(*plan.target)
        try:
            landed = 0
            while landed < spec.appends_per_writer and time.perf_counter_ns() < deadline:
                first_try = time.perf_counter_ns()
                while True:
                    append = next_append(head)
                    request = encode_request(
                        "POST", plan.path, host, spec.headers, append.request_json(identifier)
                    )
                    sent = time.perf_counter_ns()
                    response = await connection.send(request)
                    now = time.perf_counter_ns()
                    attempts.append(now - sent)
                    if response.status == 200:
                        head = append.after
                        landed += 1
                        appends.append(now - first_try)
                        break
                    if response.status == 409:
                        conflicts += 1
                    else:
                        errors += 1
                        sys.stderr.write(f"{response.status}: {response.body[:500]!r}\n")
                        if errors > MAX_ERRORS:
                            raise RuntimeError("too many failed commits; see the messages above")
                    current = await connection.send(refresh)
                    head = TableHead.of(orjson.loads(current.body)["metadata"])
        finally:
            connection.close()

    # Written on first use, which imports pyarrow in this fresh process: seconds under load,
    # which were counted in the first append and in the wall time a quick run's rate divides.
    for plan in spec.writers:
        append_manifest_list(TableHead.of(plan.metadata).location)
    started = time.perf_counter_ns()
    cpu = time.process_time()
    await asyncio.gather(*(writer(plan) for plan in spec.writers))
    wall = (time.perf_counter_ns() - started) / 1e9
    return CommitResult(
        appends=len(appends),
        conflicts=conflicts,
        errors=errors,
        seconds=wall,
        append=Latency.of_ns(appends),
        attempt=Latency.of_ns(attempts),
        client_cpu=(time.process_time() - cpu) / wall,
    )


def run_commits(spec: CommitSpec, watch_pids: Sequence[int] = ()) -> CommitResult:
    """Run `spec` in a fresh client process; `watch_pids` are the servers whose CPU to report."""
    data, server_cpu = run_driver(
        "tests.benchmarks.commitload", asdict(spec), spec.seconds + 120, watch_pids
    )
    result = CommitResult.from_json(data)
    return replace(result, server_cpu=server_cpu) if server_cpu is not None else result


def main() -> None:
    data = json.loads(sys.stdin.read())
    spec = CommitSpec(
        writers=[
            WriterSpec(
                (w["target"][0], int(w["target"][1])), w["namespace"], w["table"], w["metadata"]
            )
            for w in data["writers"]
        ],
        headers=data["headers"],
        appends_per_writer=data["appends_per_writer"],
        seconds=data["seconds"],
    )
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_commit(spec))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_commit(spec))
    sys.stdout.write(json.dumps(result.to_json()))


if __name__ == "__main__":
    main()
