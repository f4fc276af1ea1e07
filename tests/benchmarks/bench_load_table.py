"""loadTable throughput and latency against the ceiling of our process model.

Every engine calls loadTable before anything else, so it is the catalog's hot path. The
baseline is uvicorn, configured as `icefloe serve` configures it, answering with the very bytes
the catalog returned, through a bare ASGI callable: what the catalog spends above that is
routing, validation, authentication, the thread hop and the database. Each catalog figure is
measured right next to its baseline (same clients, same moment), so the noise of a shared
machine lands on both. Clients load tables picked at random among the catalog's, so a larger
catalog is not served from one hot row. The ETag rows send `If-None-Match` with the current
tag: the catalog must still look the table up, but sends no body; each is set against the plain
200 of the same catalog, clients and moment (server CPU per request, "cost ÷ 200"). PostgreSQL
rows (the durable cluster of `servers.py`) are measured the same way, at 8 clients.

The delegated rows put the default warehouse on the embedded S3 store (the product's default),
where loadTable with `X-Iceberg-Access-Delegation: vended-credentials` (PyIceberg's default)
answers with credentials for the table's prefix; the plain 200 of that catalog is measured
beside it, and `GET /v1/config?warehouse=` (every client's first request) against a baseline
returning the config bytes.

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
from tests.benchmarks.workspace import Backend, Workspace
from tests.support.payloads import SCHEMA
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
    postgres_table_counts: tuple[int, ...]
    postgres_clients: tuple[int, ...] = (8,)
    worker_clients: tuple[int, ...] = (8,)


FULL = Plan(
    (10, 10_000, 100_000), (1, 8, 32), (1, 8, 32), 5.0, 1.0, (10, 10_000), worker_clients=(8, 32)
)
QUICK = Plan((10, 10_000), (1, 8, 32), (8,), 1.5, 0.3, (10,), worker_clients=(8,))
WORKER_TABLES = 1_000
DELEGATED_TABLES = 10
DELEGATED_CLIENTS = 8
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}
WORKER_ROUNDS = 3

COLUMNS = [
    Column("database", "database"),
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
    Column("cpu_ms", "srv CPU ms/req", "ms"),
    Column("cost_vs_200", "cost ÷ 200", "ratio"),
]


def compare(
    database: Backend,
    tables: int,
    request: str,
    clients: int,
    ours: LoadResult,
    ceiling: LoadResult,
) -> Row:
    return {
        "database": database,
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
        "cpu_ms": ours.server_cpu_ms,
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


def cases(
    server: CatalogServer,
    tables: list[str],
    clients: tuple[int, ...],
    etag_clients: tuple[int, ...],
) -> tuple[list[Case], Response]:
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
        Case("200", loads, loads, clients, (200,)),
        Case("304 (If-None-Match)", revalidations, [ceiling_revalidation], etag_clients, (304,)),
    ], first


def load(
    port: int, pid: int, requests: list[Request], clients: int, case: Case, plan: Plan
) -> LoadResult:
    spec = LoadSpec(
        [("127.0.0.1", port)], requests, clients, plan.seconds, plan.warmup, expect=case.expect
    )
    return run_load(spec, [pid])


def measure(
    workspace: Workspace, backend: Backend, tables: int, clients: tuple[int, ...], plan: Plan
) -> tuple[list[Row], int]:
    """Every case at every client count on a catalog of `tables` tables; the response size."""
    populated = workspace.populated(tables, backend)
    names = [populated.table_name(i) for i in range(tables)]
    picked = random.Random(tables).sample(names, min(tables, SAMPLED_TABLES))
    etag_clients = plan.etag_clients if backend == "sqlite" else clients
    rows = []
    with catalog_servers(populated.data_dir, populated.database_url) as [server]:
        todo, first = cases(server, picked, clients, etag_clients)
        with bare_server(first.content, first.headers["etag"]) as bare:
            for case in todo:
                for count in case.clients:
                    ours = load(server.port, pid_of(server), case.requests, count, case, plan)
                    ceiling = load(bare.port, bare.pid, case.ceiling_requests, count, case, plan)
                    rows.append(compare(backend, tables, case.label, count, ours, ceiling))
    plain = {row["clients"]: row["cpu_ms"] for row in rows if row["request"] == "200"}
    for row in rows:
        if row["request"] != "200":
            row["cost_vs_200"] = ratio(row["cpu_ms"], plain.get(row["clients"]))
    return rows, len(first.content)


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "load_table", "loadTable over HTTP vs a bare ASGI app (the ceiling)", COLUMNS
    )
    body_bytes = 0
    sizes: list[tuple[Backend, int, tuple[int, ...]]] = [
        *(("sqlite", tables, plan.clients) for tables in plan.table_counts),
        *(("postgres", tables, plan.postgres_clients) for tables in plan.postgres_table_counts),
    ]
    for backend, tables, clients in sizes:
        rows, body_bytes = measure(workspace, backend, tables, clients, plan)
        result.rows += rows
    delegated_rows(workspace, plan, result)
    workers_rows(workspace, plan, result)
    result.notes += [
        HOW_IT_RUNS,
        f"each figure: {plan.warmup:g} s warm-up, then {plan.seconds:g} s; the ceiling is measured "
        "right after the catalog figure, with the same clients and the same request headers",
        f"tables loaded at random among {SAMPLED_TABLES:,} of the catalog's (ETag rows: "
        f"{ETAG_TABLES}); response body {body_bytes:,} bytes; one catalog process; "
        "authenticated with the admin API token; PostgreSQL: fsync=on, synchronous_commit=on",
        "srv CPU: catalog process CPU time per wall second (1.00 = one core busy); CPU ms/req: "
        "the catalog's CPU time in the measured window per request in it; cost ÷ 200: a row's "
        "CPU ms/req over the plain 200's at the same database, size and clients",
        "with workers, srv CPU is all of them together",
        f"delegated rows: SQLite, {DELEGATED_TABLES} tables created through the API on the "
        "embedded S3 store, loaded with and without `X-Iceberg-Access-Delegation: "
        "vended-credentials` (each against a baseline returning that very body); config: "
        "`GET /v1/config?warehouse=default`",
        f"workers rows: PostgreSQL, {WORKER_TABLES:,} tables, `serve --workers 2` against the "
        f"same database served with `--workers 1` (the ceiling columns), measured in turn, best "
        f"of {WORKER_ROUNDS} rounds each; the ratio is worth its name only with a core free for "
        "the load generator",
    ]
    result.data["populate_seconds"] = dict(workspace.populate_seconds)
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
            workers: cases(server, names, plan.worker_clients, plan.worker_clients)[0][0]
            for workers, server in ((1, one), (2, two))
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
                "postgres",
                WORKER_TABLES,
                "200, 2 workers (PG)",
                clients,
                best[clients, 2],
                best[clients, 1],
            )
        )


def delegated_rows(workspace: Workspace, plan: Plan, result: SuiteResult) -> None:
    """loadTable with and without vended credentials, and config, on the embedded store."""
    data_dir = workspace.directory("delegated")
    with catalog_servers(data_dir, None, storage="embedded") as [server]:
        headers = auth_headers(server.data_dir)
        prefix = f"/v1/default/namespaces/{NAMESPACE}/tables"
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            client.post("/v1/default/namespaces", json={"namespace": [NAMESPACE]})
            for index in range(DELEGATED_TABLES):
                created = client.post(prefix, json={"name": f"d{index}", "schema": SCHEMA})
                created.raise_for_status()
        plain = [Request(f"{prefix}/d{i}", headers=headers) for i in range(DELEGATED_TABLES)]
        vended = [Request(r.path, headers={**headers, **VENDED}) for r in plain]
        config = [Request("/v1/config?warehouse=default", headers=headers)]
        todo = [
            Case("200 (embedded store)", plain, plain, (DELEGATED_CLIENTS,), (200,)),
            Case("200, vended-credentials", vended, vended, (DELEGATED_CLIENTS,), (200,)),
            Case("config", config, config, (DELEGATED_CLIENTS,), (200,)),
        ]
        rows = []
        for case in todo:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                first = client.get(case.requests[0].path, headers=case.requests[0].headers)
                first.raise_for_status()
            etag = first.headers.get("etag", '"config"')
            with bare_server(first.content, etag) as bare:
                for count in case.clients:
                    ours = load(server.port, pid_of(server), case.requests, count, case, plan)
                    ceiling = load(bare.port, bare.pid, case.ceiling_requests, count, case, plan)
                    rows.append(
                        compare("sqlite", DELEGATED_TABLES, case.label, count, ours, ceiling)
                    )
    base = rows[0]["cpu_ms"]
    for row in rows[1:]:
        row["cost_vs_200"] = ratio(row["cpu_ms"], base)
    result.rows += rows
