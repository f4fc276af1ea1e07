"""Two loads of the Polaris workload shapes that a closed loop cannot express, run in a separate
client process like `loadgen.py` and `commitload.py` (same HTTP client, same JSON over stdio).

- **paced**: appends at a fixed rate, as Polaris' `CreateCommits` injects commits at a configured
  number per second: each table gets its share of the rate on its own connection, requests
  leave on a schedule (or at once when the previous one ran late), and the latency of each is
  measured both from when it was sent (service time) and from when it was due (lag included), so
  a catalog that cannot keep up shows it instead of quietly lowering the rate.
- **mix**: Polaris' `WeightedWorkloadOnTreeDataset`: readers and writers pick tables from the
  table space by a normal distribution each (readers around 30% of it, writers around 70%, so
  writers crowd a few hot tables). Readers load tables. Writers append with the requirements
  PyIceberg sends (`assert-ref-snapshot-id` on the parent they last saw): a writer whose view of
  a table is stale gets 409, reloads that table and moves on (no retry), so the share of 409s
  is the mix's conflict rate. Polaris' writers set properties without requirements instead and
  never conflict by design.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson

from tests.benchmarks.appends import TableHead, next_append
from tests.benchmarks.cpu import run_driver
from tests.benchmarks.http1 import Connection, encode_request
from tests.benchmarks.stats import Latency

MAX_ERRORS = 20


@dataclass(frozen=True)
class TableTarget:
    path: str  # /v1/<prefix>/namespaces/<ns>/tables/<name>
    namespace: list[str]
    name: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Spread:
    """A normal distribution over the table space ([0, 1) scaled to the number of tables)."""

    mean: float
    sd: float

    def pick(self, rng: random.Random, tables: int) -> int:
        while True:
            value = rng.gauss(self.mean, self.sd)
            if 0.0 <= value < 1.0:
                return int(value * tables)


@dataclass(frozen=True)
class PolarisLoadSpec:
    mode: str  # "paced" or "mix"
    target: tuple[str, int]
    headers: dict[str, str]
    tables: list[TableTarget]
    seconds: float  # paced: cap; mix: measured time after the warm-up
    rate: float = 0.0  # paced: appends per second, all tables together
    commits: int = 0  # paced: appends in all
    readers: int = 0
    writers: int = 0
    reader_spread: Spread = field(default_factory=lambda: Spread(0.3, 0.1667))
    writer_spread: Spread = field(default_factory=lambda: Spread(0.7, 0.1667))
    warmup: float = 0.0
    seed: int = 42


@dataclass(frozen=True)
class Stream:
    """One kind of request of a run: how many landed, what they cost, what came back."""

    requests: int
    seconds: float
    latency: Latency
    statuses: dict[str, int]
    lag: Latency | None = None  # paced: latency from when each request was due

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def share(self, status: int) -> float:
        total = sum(self.statuses.values())
        return self.statuses.get(str(status), 0) / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rate"] = self.rate
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stream:
        lag = data.get("lag")
        return cls(
            data["requests"],
            data["seconds"],
            Latency.from_json(data["latency"]),
            data["statuses"],
            Latency.from_json(lag) if lag else None,
        )


@dataclass(frozen=True)
class PolarisLoadResult:
    streams: dict[str, Stream]
    errors: int
    client_cpu: float
    server_cpu: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "streams": {name: s.to_json() for name, s in self.streams.items()},
            "errors": self.errors,
            "client_cpu": self.client_cpu,
            "server_cpu": self.server_cpu,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolarisLoadResult:
        streams = {name: Stream.from_json(s) for name, s in data["streams"].items()}
        return cls(streams, data["errors"], data["client_cpu"], data.get("server_cpu"))


class _Errors:
    def __init__(self) -> None:
        self.count = 0

    def note(self, status: int, body: bytes) -> None:
        self.count += 1
        sys.stderr.write(f"{status}: {body[:500]!r}\n")
        if self.count > MAX_ERRORS:
            raise RuntimeError("too many failed requests; see the messages above")


async def _paced(spec: PolarisLoadSpec, errors: _Errors) -> dict[str, Stream]:
    host = f"{spec.target[0]}:{spec.target[1]}"
    interval_ns = int(len(spec.tables) / spec.rate * 1e9)
    share = spec.commits // len(spec.tables)
    started = time.perf_counter_ns()
    deadline = started + int(spec.seconds * 1e9)
    service: list[int] = []
    lag: list[int] = []
    statuses: Counter[int] = Counter()

    async def table_writer(index: int, table: TableTarget) -> None:
        head = TableHead.of(table.metadata)
        identifier = (*table.namespace, table.name)
        # Spread the tables' schedules over one interval, so the rate is even.
        due = started + index * interval_ns // len(spec.tables)
        connection = await Connection.open(*spec.target)
        try:
            for _ in range(share):
                now = time.perf_counter_ns()
                if now >= deadline:
                    return
                if due > now:
                    await asyncio.sleep((due - now) / 1e9)
                append = next_append(head)
                body = append.request_json(identifier)
                sent = time.perf_counter_ns()
                response = await connection.send(
                    encode_request("POST", table.path, host, spec.headers, body)
                )
                ended = time.perf_counter_ns()
                statuses[response.status] += 1
                service.append(ended - sent)
                lag.append(ended - due)
                if response.status == 200:
                    head = append.after
                else:
                    errors.note(response.status, response.body)
                    refreshed = await connection.send(
                        encode_request("GET", table.path, host, spec.headers)
                    )
                    head = TableHead.of(orjson.loads(refreshed.body)["metadata"])
                due += interval_ns
        finally:
            connection.close()

    await asyncio.gather(*(table_writer(i, t) for i, t in enumerate(spec.tables)))
    seconds = (time.perf_counter_ns() - started) / 1e9
    return {
        "commits": Stream(
            statuses.get(200, 0),
            seconds,
            Latency.of_ns(service),
            {str(k): v for k, v in sorted(statuses.items())},
            Latency.of_ns(lag),
        )
    }


async def _mix(spec: PolarisLoadSpec, errors: _Errors) -> dict[str, Stream]:
    host = f"{spec.target[0]}:{spec.target[1]}"
    reads = [encode_request("GET", t.path, host, spec.headers) for t in spec.tables]
    started = time.perf_counter_ns()
    measure_from = started + int(spec.warmup * 1e9)
    stop_at = measure_from + int(spec.seconds * 1e9)
    samples: dict[str, list[int]] = {"reads": [], "writes": []}
    statuses: dict[str, Counter[int]] = {"reads": Counter(), "writes": Counter()}

    def record(kind: str, began: int, ended: int, status: int) -> None:
        if began >= measure_from:
            samples[kind].append(ended - began)
            statuses[kind][status] += 1

    async def reader(index: int) -> None:
        rng = random.Random(spec.seed * 1000 + index)
        connection = await Connection.open(*spec.target)
        try:
            while (began := time.perf_counter_ns()) < stop_at:
                response = await connection.send(reads[spec.reader_spread.pick(rng, len(reads))])
                record("reads", began, time.perf_counter_ns(), response.status)
                if response.status != 200:
                    errors.note(response.status, response.body)
        finally:
            connection.close()

    async def writer(index: int) -> None:
        rng = random.Random(spec.seed * 2000 + index)
        heads = [TableHead.of(t.metadata) for t in spec.tables]
        connection = await Connection.open(*spec.target)
        try:
            while (began := time.perf_counter_ns()) < stop_at:
                picked = spec.writer_spread.pick(rng, len(spec.tables))
                table = spec.tables[picked]
                append = next_append(heads[picked])
                body = append.request_json((*table.namespace, table.name))
                response = await connection.send(
                    encode_request("POST", table.path, host, spec.headers, body)
                )
                record("writes", began, time.perf_counter_ns(), response.status)
                if response.status == 200:
                    heads[picked] = append.after
                    continue
                if response.status != 409:
                    errors.note(response.status, response.body)
                refreshed = await connection.send(reads[picked])
                heads[picked] = TableHead.of(orjson.loads(refreshed.body)["metadata"])
        finally:
            connection.close()

    await asyncio.gather(
        *(reader(i) for i in range(spec.readers)), *(writer(i) for i in range(spec.writers))
    )
    seconds = (time.perf_counter_ns() - measure_from) / 1e9
    return {
        kind: Stream(
            sum(n for status, n in statuses[kind].items() if status == 200),
            seconds,
            Latency.of_ns(samples[kind]),
            {str(k): v for k, v in sorted(statuses[kind].items())},
        )
        for kind in ("reads", "writes")
    }


async def _run(spec: PolarisLoadSpec) -> PolarisLoadResult:
    cpu = time.process_time()
    wall = time.perf_counter()
    errors = _Errors()
    streams = await (_paced(spec, errors) if spec.mode == "paced" else _mix(spec, errors))
    used = (time.process_time() - cpu) / (time.perf_counter() - wall)
    return PolarisLoadResult(streams, errors.count, used)


def run_polaris_load(spec: PolarisLoadSpec, watch_pids: Sequence[int] = ()) -> PolarisLoadResult:
    """Run `spec` in a fresh client process; `watch_pids` are the servers whose CPU to report."""
    data, server_cpu = run_driver(
        "tests.benchmarks.polarisload", asdict(spec), spec.warmup + spec.seconds + 120, watch_pids
    )
    result = PolarisLoadResult.from_json(data)
    return replace(result, server_cpu=server_cpu) if server_cpu is not None else result


def _spec_from_json(data: dict[str, Any]) -> PolarisLoadSpec:
    return PolarisLoadSpec(
        mode=data["mode"],
        target=(data["target"][0], int(data["target"][1])),
        headers=data["headers"],
        tables=[TableTarget(**t) for t in data["tables"]],
        seconds=data["seconds"],
        rate=data["rate"],
        commits=data["commits"],
        readers=data["readers"],
        writers=data["writers"],
        reader_spread=Spread(**data["reader_spread"]),
        writer_spread=Spread(**data["writer_spread"]),
        warmup=data["warmup"],
        seed=data["seed"],
    )


def main() -> None:
    spec = _spec_from_json(json.loads(sys.stdin.read()))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_run(spec))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_run(spec))
    sys.stdout.write(json.dumps(result.to_json()))


if __name__ == "__main__":
    main()
