"""Closed-loop HTTP load: N keep-alive connections, each sending its next request as soon as the
previous response has arrived, for a bounded time or count, recording every request's latency.

The generator runs in its own process (`run_load` starts `python -m tests.benchmarks.loadgen`
and talks JSON over stdin/stdout), so the operating system shares the cores between client and
server instead of one Python process's GIL doing both; on a 2-core machine the server gets one
core and the client the other. Its own CPU use is reported next to the server's, so a reader can
see which side was saturated.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import KW_ONLY, asdict, dataclass, field, replace
from typing import Any

from tests.benchmarks.cpu import process_cpu_seconds, run_driver
from tests.benchmarks.http1 import Connection, encode_request
from tests.benchmarks.stats import Latency

HOW_IT_RUNS = (
    "load: closed loop (each connection sends its next request when the previous answer is in), "
    "HTTP/1.1 keep-alive, a separate client process (raw asyncio on uvloop); "
    "figures exclude a warm-up"
)


@dataclass(frozen=True)
class Request:
    path: str
    _: KW_ONLY
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class LoadSpec:
    """What to send. With `count`, stop after that many measured requests (`seconds` caps it)."""

    targets: list[tuple[str, int]]
    requests: list[Request]
    connections: int
    seconds: float
    warmup: float = 0.0
    count: int | None = None
    shuffle: bool = True
    expect: tuple[int, ...] = (200,)
    watch_pids: tuple[int, ...] = ()  # servers whose CPU per measured request to report


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latency: Latency
    statuses: dict[str, int]
    unexpected: int
    errors: int
    mean_body_bytes: float
    client_cpu: float
    server_cpu: float | None = None
    server_cpu_ms: float | None = None  # server CPU per request, over the measured window only

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rate"] = self.rate
        return data


async def _generate(spec: LoadSpec) -> LoadResult:
    encoded = [
        encode_request(
            r.method,
            r.path,
            f"{spec.targets[0][0]}:{spec.targets[0][1]}",
            r.headers,
            r.body.encode(),
        )
        for r in spec.requests
    ]
    started = time.perf_counter_ns()
    measure_from = started + int(spec.warmup * 1e9)
    stop_at = measure_from + int(spec.seconds * 1e9)
    samples: list[int] = []
    statuses: Counter[int] = Counter()
    body_bytes = 0
    errors = 0
    last_end = measure_from

    async def worker(index: int) -> None:
        nonlocal body_bytes, errors, last_end
        host, port = spec.targets[index % len(spec.targets)]
        order = list(range(len(encoded)))
        if spec.shuffle:
            random.Random(index).shuffle(order)
        else:
            offset = index * len(order) // spec.connections
            order = order[offset:] + order[:offset]
        connection = await Connection.open(host, port)
        position = 0
        try:
            while True:
                begun = time.perf_counter_ns()
                if begun >= stop_at or (spec.count is not None and len(samples) >= spec.count):
                    return
                request = encoded[order[position % len(order)]]
                position += 1
                try:
                    response = await connection.send(request)
                except (OSError, ConnectionError):
                    errors += 1
                    if errors > 100:
                        raise
                    connection.close()
                    connection = await Connection.open(host, port)
                    continue
                ended = time.perf_counter_ns()
                if begun >= measure_from:
                    samples.append(ended - begun)
                    statuses[response.status] += 1
                    body_bytes += len(response.body)
                    last_end = max(last_end, ended)
        finally:
            connection.close()

    def server_cpu_seconds() -> float:
        return sum(process_cpu_seconds(pid) for pid in spec.watch_pids)

    server_cpu_at_start: list[float] = []

    async def mark_window_start() -> None:
        await asyncio.sleep(max(0.0, (measure_from - time.perf_counter_ns()) / 1e9))
        server_cpu_at_start.append(server_cpu_seconds())

    marker = asyncio.create_task(mark_window_start())
    cpu_before = time.process_time()
    await asyncio.gather(*(worker(i) for i in range(spec.connections)))
    cpu = time.process_time() - cpu_before
    wall = (time.perf_counter_ns() - started) / 1e9
    count = len(samples)
    marker.cancel()
    server_cpu_ms = None
    if spec.watch_pids and server_cpu_at_start and count:
        server_cpu_ms = (server_cpu_seconds() - server_cpu_at_start[0]) * 1000 / count
    return LoadResult(
        requests=count,
        seconds=(last_end - measure_from) / 1e9,
        latency=Latency.of_ns(samples),
        statuses={str(status): n for status, n in sorted(statuses.items())},
        unexpected=sum(n for status, n in statuses.items() if status not in spec.expect),
        errors=errors,
        mean_body_bytes=body_bytes / count if count else 0.0,
        client_cpu=cpu / wall if wall > 0 else 0.0,
        server_cpu_ms=server_cpu_ms,
    )


def _spec_from_json(data: dict[str, Any]) -> LoadSpec:
    return LoadSpec(
        targets=[(host, int(port)) for host, port in data["targets"]],
        requests=[Request(**r) for r in data["requests"]],
        connections=data["connections"],
        seconds=data["seconds"],
        warmup=data["warmup"],
        count=data["count"],
        shuffle=data["shuffle"],
        expect=tuple(data["expect"]),
        watch_pids=tuple(data["watch_pids"]),
    )


def _result_from_json(data: dict[str, Any]) -> LoadResult:
    data = dict(data)
    data.pop("rate", None)
    data["latency"] = Latency.from_json(data["latency"])
    return LoadResult(**data)


def run_load(spec: LoadSpec, watch_pids: Sequence[int] = ()) -> LoadResult:
    """Run `spec` in a fresh client process; `watch_pids` are the servers whose CPU to report."""
    data, server_cpu = run_driver(
        "tests.benchmarks.loadgen",
        asdict(replace(spec, watch_pids=tuple(watch_pids))),
        spec.warmup + spec.seconds + 120,
        watch_pids,
    )
    result = _result_from_json(data)
    return replace(result, server_cpu=server_cpu) if server_cpu is not None else result


def main() -> None:
    spec = _spec_from_json(json.loads(sys.stdin.read()))
    try:
        import uvloop
    except ImportError:  # the stock loop works, only slower
        result = asyncio.run(_generate(spec))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_generate(spec))
    sys.stdout.write(json.dumps(result.to_json()))


if __name__ == "__main__":
    main()
