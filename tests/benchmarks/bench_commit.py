"""Appends per second through the catalog, next to the floor and next to PyIceberg's SqlCatalog.

Each append is an updateTable request as PyIceberg sends it (add-snapshot + set-snapshot-ref,
asserting the parent snapshot and the table UUID; see `appends.py`), built from the table's real
metadata as the catalog returned it; no data files are written, the catalog never reads them.
Three workloads: one writer on one table (latency-bound), eight writers on eight tables
(throughput), eight writers on one table (contention: losers reload and retry). Baselines,
measured right after, with the same counts from the same fresh state:
  (a) raw: one metadata file + one compare-and-swap, in-process (`rawcommit.py`);
  (b) PyIceberg's SqlCatalog, in-process, on the same kind of database (`pyiceberg_sql.py`).
On SQLite and on PostgreSQL; on PostgreSQL also with two catalog processes sharing the database
(the in-process baselines have no process count, so those rows reuse the one-process baselines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.benchmarks.commitload import CommitSpec, WriterSpec, run_commits
from tests.benchmarks.inprocess import run_writers
from tests.benchmarks.metadata import PARTITION_SPEC, PROPERTIES, SCHEMA
from tests.benchmarks.pyiceberg_sql import open_sql_catalog, sql_writers
from tests.benchmarks.rawcommit import run_raw
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, catalog_client, catalog_servers, pid_of
from tests.benchmarks.stats import CommitResult
from tests.benchmarks.workspace import Backend, Workspace

NAMESPACE = "bench"


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    writers: int
    tables: int

    def table_of(self, writer: int) -> int:
        return writer % self.tables


WORKLOADS = (
    Workload("single", "1 table, 1 writer", writers=1, tables=1),
    Workload("spread", "8 tables, 8 writers", writers=8, tables=8),
    Workload("contended", "1 table, 8 writers", writers=8, tables=1),
)


@dataclass(frozen=True)
class Plan:
    """Appends per writer, per workload: contention wastes most attempts, so it gets fewer."""

    backends: tuple[Backend, ...]
    appends: dict[str, int]
    cap_seconds: float


FULL = Plan(("sqlite", "postgres"), {"single": 200, "spread": 50, "contended": 15}, 180)
QUICK = Plan(("sqlite", "postgres"), {"single": 30, "spread": 5, "contended": 3}, 30)

COLUMNS = [
    Column("database", "database"),
    Column("workload", "workload"),
    Column("processes", "procs", "int"),
    Column("rate", "appends/s", "rate"),
    Column("p50", "p50 ms", "ms"),
    Column("p99", "p99 ms", "ms"),
    Column("conflicts", "409s", "int"),
    Column("server_cpu", "srv CPU", "cpu"),
    Column("raw_rate", "raw/s", "rate"),
    Column("raw_p50", "raw p50", "ms"),
    Column("raw_ratio", "÷ raw", "ratio"),
    Column("sql_rate", "SqlCatalog/s", "rate"),
    Column("sql_p50", "SqlCat p50", "ms"),
    Column("sql_ratio", "÷ SqlCatalog", "ratio"),
]


EVENT_TABLE: Mapping[str, Any] = {
    "schema": orjson.loads(SCHEMA.model_dump_json()),
    "partition-spec": orjson.loads(PARTITION_SPEC.model_dump_json()),
    "properties": PROPERTIES,
}


def create_tables(
    client: httpx.Client, names: list[str], definition: Mapping[str, Any] = EVENT_TABLE
) -> dict[str, dict[str, Any]]:
    """Create each table through the catalog; its metadata as the catalog returned it."""
    created = {}
    for name in names:
        response = client.post(f"/namespaces/{NAMESPACE}/tables", json={"name": name, **definition})
        response.raise_for_status()
        created[name] = response.json()["metadata"]
    return created


def compare(
    backend: str,
    workload: Workload,
    processes: int,
    ours: CommitResult,
    raw: CommitResult,
    sql: CommitResult,
) -> Row:
    return {
        "database": backend,
        "workload": workload.label,
        "processes": processes,
        "rate": ours.rate,
        "p50": ours.append.p50,
        "p99": ours.append.p99,
        "conflicts": ours.conflicts,
        "errors": ours.errors + raw.errors + sql.errors,
        "server_cpu": ours.server_cpu,
        "raw_rate": raw.rate,
        "raw_p50": raw.append.p50,
        "raw_ratio": ratio(ours.rate, raw.rate),
        "sql_rate": sql.rate,
        "sql_p50": sql.append.p50,
        "sql_ratio": ratio(ours.rate, sql.rate),
        "catalog": ours.to_json(),
        "raw": raw.to_json(),
        "sqlcatalog": sql.to_json(),
    }


def run_backend(workspace: Workspace, backend: Backend, plan: Plan) -> list[Row]:
    data_dir = workspace.directory(f"commit-{backend}")
    database_url = workspace.database_url(backend)
    sql_dir = workspace.directory(f"sqlcatalog-{backend}")
    sql_url = workspace.database_url(backend) or f"sqlite:///{sql_dir / 'catalog.db'}"
    sql_catalog = open_sql_catalog(sql_url, sql_dir / "warehouse")
    process_counts = (1, 2) if backend == "postgres" else (1,)
    rows = []
    with catalog_servers(data_dir, database_url, count=max(process_counts)) as servers:
        headers = auth_headers(data_dir)
        catalog_url = database_url or f"sqlite:///{data_dir / 'catalog.db'}"
        with catalog_client(servers[0]) as client:
            client.post("/namespaces", json={"namespace": [NAMESPACE]}).raise_for_status()
            for workload in WORKLOADS:
                appends = plan.appends[workload.key]
                baselines: tuple[CommitResult, CommitResult] | None = None
                for processes in process_counts:
                    if workload.writers == 1 and processes > 1:
                        continue
                    names = [f"{workload.key}_{processes}p_{i}" for i in range(workload.tables)]
                    metadata = create_tables(client, names)
                    used = servers[:processes]
                    writers = [
                        WriterSpec(
                            ("127.0.0.1", used[i % processes].port),
                            NAMESPACE,
                            names[workload.table_of(i)],
                            metadata[names[workload.table_of(i)]],
                        )
                        for i in range(workload.writers)
                    ]
                    ours = run_commits(
                        CommitSpec(writers, headers, appends, plan.cap_seconds),
                        [pid_of(s) for s in used],
                    )
                    if baselines is None:
                        baselines = (
                            _raw(client, catalog_url, workload, appends, plan),
                            _sql(sql_catalog, workload, appends, plan),
                        )
                    rows.append(compare(backend, workload, processes, ours, *baselines))
    sql_catalog.engine.dispose()
    return rows


def _raw(
    client: httpx.Client, database_url: str, workload: Workload, appends: int, plan: Plan
) -> CommitResult:
    names = [f"{workload.key}_raw_{i}" for i in range(workload.tables)]
    create_tables(client, names)
    tables = [names[workload.table_of(i)] for i in range(workload.writers)]
    return run_raw(database_url, NAMESPACE, tables, appends, plan.cap_seconds)


def _sql(catalog: Any, workload: Workload, appends: int, plan: Plan) -> CommitResult:
    names = [f"{workload.key}_{workload.table_of(i)}" for i in range(workload.writers)]
    return run_writers(sql_writers(catalog, NAMESPACE, names), appends, plan.cap_seconds)


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "commit", "appends through updateTable vs raw file+CAS and PyIceberg SqlCatalog", COLUMNS
    )
    for backend in plan.backends:
        result.rows += run_backend(workspace, backend, plan)
    result.notes += [
        "each append: one updateTable request (add-snapshot + set-snapshot-ref main, asserting "
        "the parent snapshot and table UUID) built with pyiceberg's models from the table's real "
        "metadata; no data files",
        "count-bounded, appends per writer: "
        + ", ".join(f"{w.label}: {plan.appends[w.key]}" for w in WORKLOADS)
        + "; every system starts from a fresh table and grows it alike",
        "HTTP writers: a separate client process, one keep-alive connection per writer, no "
        "back-off (a loser reloads and retries at once); p50/p99: first try to landed append",
        "raw: in-process threads, catalog's own store and object store (fsync), no HTTP or "
        "pyiceberg; SqlCatalog: pyiceberg 0.12 in-process threads, its own database of the same "
        "kind, files without fsync",
        "SQLite: the catalog's WAL + synchronous=FULL; PostgreSQL: fsync=on, "
        "synchronous_commit=on; 2-process rows reuse the 1-process baselines",
        "authenticated with the admin API token; the catalog also writes an audit record per "
        "commit",
    ]
    return result
