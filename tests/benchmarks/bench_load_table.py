"""loadTable throughput and latency against the ceiling of our process model.

Every engine calls loadTable before anything else, so it is the catalog's hot path. The
baseline is uvicorn, configured as `icefloe serve` configures it, answering with the very bytes
the catalog returned, through a bare ASGI callable: what the catalog spends above that is
routing, validation, authentication, the thread hop and the database. Each catalog figure is
measured right next to its baseline (same clients, same moment), so the noise of a shared
machine lands on both. Clients load tables picked at random among the catalog's, so a larger
catalog is not served from one hot row. The ETag rows send `If-None-Match` with the current
tag: the catalog must still look the table up, but sends no body.

The workers rows run `icefloe serve --workers 2` on PostgreSQL next to a one-worker server on the
same database (their "ceiling" is the one-worker figure): what a second process on the same
ports buys, with the load generator as a process of its own.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from httpx import Response

from tests.benchmarks.loadgen import HOW_IT_RUNS, LoadResult, LoadSpec, Request, run_load
from tests.benchmarks.populate import NAMESPACE, populate
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, bare_server, catalog_servers, pid_of
from tests.benchmarks.workspace import Workspace
from tests.support.server import CatalogServer

SAMPLED_TABLES = 1_000
ETAG_TABLES = 100


@dataclass(frozen=True)
class Plan:
    table_counts: tuple[int, ...]
    clients: tuple[int, ...]
    etag_clients: tuple[int, ...]
    seconds: float
    warmup: float
    worker_clients: tuple[int, ...]


FULL = Plan((10, 10_000, 100_000), (1, 8, 32), (1, 8, 32), 5.0, 1.0, worker_clients=(8, 32))
QUICK = Plan((10, 10_000), (1, 8, 32), (8,), seconds=1.5, warmup=0.3, worker_clients=(8,))
WORKER_TABLES = 1_000
WORKER_ROUNDS = 3

COLUMNS = [
    Column("tables", "tables", "int"),
    Column("request", "request"),
    Column("clients", "clients", "int"),
    Column("rate", "req/s", "rate"),
    Column("p50", "p50 ms", "ms"),
    Column("p99", "p99 ms", "ms"),
    Column("server_cpu", "srv CPU", "cpu"),
    Column("base_rate", "ceiling req/s", "rate"),
    Column("base_p50", "ceiling p50", "ms"),
    Column("base_p99", "ceiling p99", "ms"),
    Column("rate_ratio", "req/s ÷ ceiling", "ratio"),
    Column("p50_ratio", "p50 ÷ ceiling", "ratio"),
]


def compare(tables: int, request: str, clients: int, ours: LoadResult, ceiling: LoadResult) -> Row:
    return {
        "tables": tables,
        "request": request,
        "clients": clients,
        "rate": ours.rate,
        "p50": ours.latency.p50,
        "p99": ours.latency.p99,
        "server_cpu": ours.server_cpu,
        "base_rate": ceiling.rate,
        "base_p50": ceiling.latency.p50,
        "base_p99": ceiling.latency.p99,
        "rate_ratio": ratio(ours.rate, ceiling.rate),
        "p50_ratio": ratio(ours.latency.p50, ceiling.latency.p50),
        "catalog": ours.to_json(),
        "baseline": ceiling.to_json(),
    }


@dataclass(frozen=True)
class Case:
    """One kind of request, sent to the catalog and (as `ceiling_requests`) to the baseline."""

    label: str
    requests: list[Request]
    ceiling_requests: list[Request]
    clients: tuple[int, ...]
    expect: tuple[int, ...]


def cases(server: CatalogServer, tables: list[str], plan: Plan) -> tuple[list[Case], Response]:
    """Plain loads of the sampled tables, and revalidations of some with their current ETag."""
    headers = auth_headers(server.data_dir)
    prefix = f"/v1/default/namespaces/{NAMESPACE}/tables"
    loads = [Request(f"{prefix}/{name}", headers=headers) for name in tables]
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        first = client.get(loads[0].path).raise_for_status()
        etags = [client.get(r.path).headers["etag"] for r in loads[:ETAG_TABLES]]
    revalidations = [
        Request(r.path, headers={**headers, "If-None-Match": etag})
        for r, etag in zip(loads, etags, strict=False)
    ]
    ceiling_revalidation = Request(
        loads[0].path, headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    return [
        Case("200", loads, loads, plan.clients, (200,)),
        Case(
            "304 (If-None-Match)", revalidations, [ceiling_revalidation], plan.etag_clients, (304,)
        ),
    ], first


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "load_table", "loadTable over HTTP vs a bare ASGI app (the ceiling)", COLUMNS
    )
    body_bytes = 0
    for tables in plan.table_counts:
        populated = workspace.populated(tables)
        names = [populated.table_name(i) for i in range(tables)]
        picked = random.Random(tables).sample(names, min(tables, SAMPLED_TABLES))
        with catalog_servers(populated.data_dir, populated.database_url) as [server]:
            todo, first = cases(server, picked, plan)
            body_bytes = len(first.content)
            with bare_server(first.content, first.headers["etag"]) as bare:
                for case in todo:
                    for clients in case.clients:
                        ours = run_load(
                            LoadSpec(
                                [("127.0.0.1", server.port)],
                                case.requests,
                                clients,
                                plan.seconds,
                                plan.warmup,
                                expect=case.expect,
                            ),
                            [pid_of(server)],
                        )
                        ceiling = run_load(
                            LoadSpec(
                                [("127.0.0.1", bare.port)],
                                case.ceiling_requests,
                                clients,
                                plan.seconds,
                                plan.warmup,
                                expect=case.expect,
                            ),
                            [bare.pid],
                        )
                        result.rows.append(compare(tables, case.label, clients, ours, ceiling))
    workers_rows(workspace, plan, result)
    result.notes += [
        HOW_IT_RUNS,
        f"each figure: {plan.warmup:g} s warm-up, then {plan.seconds:g} s; the ceiling is measured "
        "right after the catalog figure, with the same clients and the same request headers",
        f"tables loaded at random among {SAMPLED_TABLES:,} of the catalog's (ETag rows: "
        f"{ETAG_TABLES}); response body {body_bytes:,} bytes; SQLite; one catalog process; "
        "authenticated with the admin API token",
        "srv CPU: catalog process CPU time per wall second (1.00 = one core busy); with "
        "workers, all of them together",
        f"workers rows: PostgreSQL, {WORKER_TABLES:,} tables, `serve --workers 2` against the "
        f"same database served with `--workers 1` (the ceiling columns), measured in turn, best "
        f"of {WORKER_ROUNDS} rounds each; the ratio is worth its name only with a core free for "
        "the load generator",
    ]
    result.data["populate_seconds"] = {str(k): v for k, v in workspace.populate_seconds.items()}
    return result


@contextmanager
def catalog_with_workers(
    data_dir: Path, database_url: str, workers: int
) -> Iterator[CatalogServer]:
    server = CatalogServer(
        data_dir, database_url, storage="file", env={"ICEFLOE_WORKERS": str(workers)}
    ).start()
    try:
        yield server
    finally:
        server.stop()


def serving_pids(server: CatalogServer) -> list[int]:
    """The processes that answer: the workers, or the server itself when it has none."""
    parent = psutil.Process(pid_of(server))
    workers = [c.pid for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
    return workers or [parent.pid]


def workers_rows(workspace: Workspace, plan: Plan, result: SuiteResult) -> None:
    """loadTable on PostgreSQL with two workers, next to the same database served with one.

    Both servers run at once and are measured in turn, one worker then two, WORKER_ROUNDS
    times; each keeps its best round, so a burst of other work on a shared machine lands on
    one round of one side rather than on the whole of it."""
    populated = populate(
        workspace.directory("workers"), workspace.postgres.create_database(), WORKER_TABLES
    )
    assert populated.database_url is not None
    names = [populated.table_name(i) for i in range(WORKER_TABLES)]
    best: dict[tuple[int, int], LoadResult] = {}
    with (
        catalog_with_workers(populated.data_dir, populated.database_url, 1) as one,
        catalog_with_workers(populated.data_dir, populated.database_url, 2) as two,
    ):
        loads = {
            workers: cases(server, names, plan)[0][0] for workers, server in ((1, one), (2, two))
        }
        for clients in plan.worker_clients:
            for _ in range(WORKER_ROUNDS):
                for workers, server in ((1, one), (2, two)):
                    measured = run_load(
                        LoadSpec(
                            [("127.0.0.1", server.port)],
                            loads[workers].requests,
                            clients,
                            plan.seconds,
                            plan.warmup,
                            expect=loads[workers].expect,
                        ),
                        serving_pids(server),
                    )
                    previous = best.get((clients, workers))
                    if previous is None or measured.rate > previous.rate:
                        best[clients, workers] = measured
    for clients in plan.worker_clients:
        result.rows.append(
            compare(
                WORKER_TABLES,
                "200, 2 workers (PG)",
                clients,
                best[clients, 2],
                best[clients, 1],
            )
        )
