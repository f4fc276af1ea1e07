"""The workload shapes of Apache Polaris' Gatling benchmarks, so icefloe's figures can be read
next to theirs (apache/polaris-tools, `benchmarks/`; the shapes are theirs, the code ours).

Five passes over one catalog process (SQLite), in the order Polaris runs its simulations:

- **create-tree** (`CreateTreeDataset`): the tree dataset of `polaris_tree.py` created through
  the REST API by a concurrent client (20 requests in flight for namespaces and tables, 10 for
  views, Polaris' defaults). Baseline for tables: the raw floor (`rawcommit.py`: one metadata
  file with fsync + one compare-and-swap, in-process) writing documents of the same table.
- **read-only** (`ReadTreeDataset`): load every namespace (with its properties), table and
  view, one kind per row, closed loop. Baseline: the bare-ASGI ceiling (`bare_asgi.py`)
  answering with the very bytes of that kind, measured right after with the same clients.
- **read-update** (`ReadUpdateTreeDataset`): reads (list namespaces, tables and views of a
  namespace; load a namespace, table or view) mixed with writes (set namespace properties, set
  table properties, set view properties) at Polaris' read/write ratio. Baseline: the ceiling.
- **create-commits** (`CreateCommits`): appends paced at a configured rate on a few tables
  until each has hundreds to thousands of snapshots; achieved rate, service latency and lag
  (latency from when each append was due). Baseline: the raw floor making the same appends to
  twin tables as fast as it can.
- **weighted mix** (`WeightedWorkloadOnTreeDataset`): 8 readers around 30% of the table space
  and 2 writers around 70% (normal distributions, Polaris' defaults); writers append with
  `assert-ref-snapshot-id` and get 409 when their view of a table is stale. Baselines: the
  ceiling for the reads, the raw floor for the writes (one twin table per writer, no conflicts).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.benchmarks.loadgen import HOW_IT_RUNS, LoadResult, LoadSpec, Request, run_load
from tests.benchmarks.polaris_tree import (
    Created,
    Tree,
    create_tree,
    namespace_path,
    table_body,
)
from tests.benchmarks.polarisload import (
    PolarisLoadResult,
    PolarisLoadSpec,
    Spread,
    TableTarget,
    run_polaris_load,
)
from tests.benchmarks.rawcommit import run_raw
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, bare_server, catalog_servers, pid_of
from tests.benchmarks.stats import CommitResult
from tests.benchmarks.workspace import Workspace
from tests.support.server import CatalogServer

PREFIX = "/v1/default"
POLARIS_SD = 0.0278**0.5  # their distributions are given by variance


@dataclass(frozen=True)
class Plan:
    tree: Tree
    read_clients: int
    seconds: float
    warmup: float
    read_write_ratio: float  # share of reads in the read-update pass
    commit_tables: int
    commit_rate: float  # appends per second, all commit tables together
    commits: int
    readers: int
    writers: int
    mix_seconds: float
    raw_appends: int  # per table, for the create-tree floor


FULL = Plan(
    Tree(2, 4, tables_per_leaf=5, views_per_leaf=3, table_columns=999, table_properties=59),
    read_clients=8,
    seconds=10.0,
    warmup=1.0,
    read_write_ratio=0.5,
    commit_tables=2,
    commit_rate=10.0,
    commits=1_000,
    readers=8,
    writers=2,
    mix_seconds=60.0,
    raw_appends=20,
)
QUICK = Plan(
    Tree(2, 3, tables_per_leaf=2, views_per_leaf=1, table_columns=999, table_properties=59),
    read_clients=8,
    seconds=1.5,
    warmup=0.3,
    read_write_ratio=0.5,
    commit_tables=2,
    commit_rate=20.0,
    commits=60,
    readers=8,
    writers=2,
    mix_seconds=3.0,
    raw_appends=5,
)

COLUMNS = [
    Column("pass", "pass"),
    Column("work", "requests"),
    Column("clients", "clients", "int"),
    Column("count", "count", "int"),
    Column("rate", "req/s", "rate"),
    Column("p50", "p50 ms", "ms"),
    Column("p90", "p90 ms", "ms"),
    Column("p99", "p99 ms", "ms"),
    Column("conflicts", "409s"),
    Column("server_cpu", "srv CPU", "cpu"),
    Column("baseline", "baseline"),
    Column("base_rate", "base req/s", "rate"),
    Column("base_p50", "base p50", "ms"),
    Column("rate_ratio", "req/s ÷ base", "ratio"),
    Column("p50_ratio", "p50 ÷ base", "ratio"),
]


def _row(pass_name: str, work: str, clients: int, **figures: Any) -> Row:
    return _with_ratios({"pass": pass_name, "work": work, "clients": clients, **figures})


def _with_ratios(row: Row) -> Row:
    share = row.get("share_409")
    row["conflicts"] = None if share is None else f"{share:.1%}"
    row["rate_ratio"] = ratio(row.get("rate"), row.get("base_rate"))
    row["p50_ratio"] = ratio(row.get("p50"), row.get("base_p50"))
    return row


def table_path(levels: tuple[str, ...], name: str) -> str:
    return f"{PREFIX}/namespaces/{namespace_path(levels)}/tables/{name}"


def view_path(levels: tuple[str, ...], name: str) -> str:
    return f"{PREFIX}/namespaces/{namespace_path(levels)}/views/{name}"


class Pass:
    """What every pass needs: the server, its database, its clients and where to put rows."""

    def __init__(self, server: CatalogServer, plan: Plan, result: SuiteResult) -> None:
        self.server = server
        self.plan = plan
        self.result = result
        self.headers = auth_headers(server.data_dir)
        self.http = httpx.Client(base_url=server.url, headers=self.headers, timeout=300)
        self.database_url = f"sqlite:///{server.data_dir / 'catalog.db'}"

    def close(self) -> None:
        self.http.close()

    def load(self, requests: list[Request], clients: int, expect: tuple[int, ...]) -> LoadResult:
        return run_load(
            LoadSpec(
                [("127.0.0.1", self.server.port)],
                requests,
                clients,
                self.plan.seconds,
                self.plan.warmup,
                expect=expect,
            ),
            [pid_of(self.server)],
        )

    def ceiling(self, body: bytes, requests: list[Request], clients: int) -> LoadResult:
        """The same requests, answered by the bare ASGI app with `body` (200 to every one)."""
        with bare_server(body, '"ceiling"') as bare:
            return run_load(
                LoadSpec(
                    [("127.0.0.1", bare.port)],
                    requests,
                    clients,
                    self.plan.seconds,
                    self.plan.warmup,
                ),
                [bare.pid],
            )

    def create_tables(self, levels: tuple[str, ...], names: list[str]) -> list[TableTarget]:
        targets = []
        for name in names:
            response = self.http.post(
                f"{PREFIX}/namespaces/{namespace_path(levels)}/tables",
                json=table_body(self.plan.tree, name),
            )
            response.raise_for_status()
            targets.append(
                TableTarget(
                    table_path(levels, name), list(levels), name, response.json()["metadata"]
                )
            )
        return targets

    def raw(self, levels: tuple[str, ...], names: list[str], appends: int) -> CommitResult:
        """The floor: `appends` raw appends per table, one in-process writer per table."""
        self.create_tables(levels, names)
        return run_raw(self.database_url, "\x1f".join(levels), names, appends)


def create_pass(run: Pass, created: list[Created]) -> None:
    tree = run.plan.tree
    leaf = tree.leaves()[0]
    raw = run.raw(leaf, ["floor_create"], run.plan.raw_appends)
    for item in created:
        figures: dict[str, Any] = {
            "count": item.count,
            "rate": item.rate,
            "p50": item.latency.p50,
            "p90": item.latency.p90,
            "p99": item.latency.p99,
            "created": {"seconds": item.seconds, "latency": item.latency.to_json()},
        }
        if item.kind == "tables":
            figures |= {
                "baseline": "raw file+CAS",
                "base_rate": raw.rate,
                "base_p50": raw.attempt.p50,
                "raw": raw.to_json(),
            }
        run.result.rows.append(
            _row("create-tree", f"create {item.kind}", item.concurrency, **figures)
        )


def _load_row(pass_name: str, work: str, clients: int, ours: LoadResult, base: LoadResult) -> Row:
    conflicts = ours.statuses.get("409", 0)
    return _row(
        pass_name,
        work,
        clients,
        count=ours.requests,
        rate=ours.rate,
        p50=ours.latency.p50,
        p90=ours.latency.p90,
        p99=ours.latency.p99,
        share_409=conflicts / ours.requests if ours.requests else None,
        server_cpu=ours.server_cpu,
        baseline="bare ASGI ceiling",
        base_rate=base.rate,
        base_p50=base.latency.p50,
        catalog=ours.to_json(),
        ceiling=base.to_json(),
    )


def read_pass(run: Pass) -> None:
    tree = run.plan.tree
    clients = run.plan.read_clients
    kinds = {
        "load namespace": [
            Request(f"{PREFIX}/namespaces/{namespace_path(levels)}", headers=run.headers)
            for levels in tree.namespaces()
        ],
        "load table": [Request(table_path(*t), headers=run.headers) for t in tree.tables()],
        "load view": [Request(view_path(*v), headers=run.headers) for v in tree.views()],
    }
    for work, requests in kinds.items():
        body = run.http.get(requests[0].path).raise_for_status().content
        ours = run.load(requests, clients, (200,))
        base = run.ceiling(body, requests, clients)
        run.result.rows.append(_load_row("read-only", work, clients, ours, base))


def read_update_requests(run: Pass) -> list[Request]:
    """Reads and writes at the plan's ratio; every write sets a fresh property value."""
    tree = run.plan.tree
    namespaces = list(tree.namespaces())
    tables, views = tree.tables(), tree.views()
    headers = run.headers
    reads: list[Request] = []
    for levels in namespaces:
        ns = namespace_path(levels)
        reads.append(Request(f"{PREFIX}/namespaces?parent={ns}", headers=headers))
        reads.append(Request(f"{PREFIX}/namespaces/{ns}", headers=headers))
    for levels in tree.leaves():
        ns = namespace_path(levels)
        reads.append(Request(f"{PREFIX}/namespaces/{ns}/tables", headers=headers))
        reads.append(Request(f"{PREFIX}/namespaces/{ns}/views", headers=headers))
    reads += [Request(table_path(*t), headers=headers) for t in tables]
    reads += [Request(view_path(*v), headers=headers) for v in views]
    writes: list[Request] = []
    for i in range(max(len(namespaces), len(tables), len(views))):
        levels = namespaces[i % len(namespaces)]
        update = {f"new_attribute_{i % 7}": f"value-{i}"}
        writes.append(
            Request(
                f"{PREFIX}/namespaces/{namespace_path(levels)}/properties",
                method="POST",
                headers=headers,
                body=orjson.dumps({"updates": update, "removals": []}).decode(),
            )
        )
        commit = orjson.dumps(
            {"requirements": [], "updates": [{"action": "set-properties", "updates": update}]}
        ).decode()
        table = tables[i % len(tables)]
        writes.append(Request(table_path(*table), method="POST", headers=headers, body=commit))
        view = views[i % len(views)]
        writes.append(Request(view_path(*view), method="POST", headers=headers, body=commit))
    # As many reads per write as the ratio asks; each list cycles to fill its share.
    ratio_reads = run.plan.read_write_ratio / (1 - run.plan.read_write_ratio)
    total = max(len(reads), len(writes)) * 2
    wanted_writes = round(total / (1 + ratio_reads))
    wanted_reads = total - wanted_writes
    return [reads[i % len(reads)] for i in range(wanted_reads)] + [
        writes[i % len(writes)] for i in range(wanted_writes)
    ]


def read_update_pass(run: Pass) -> None:
    clients = run.plan.read_clients
    requests = read_update_requests(run)
    tree = run.plan.tree
    body = run.http.get(table_path(*tree.tables()[0])).raise_for_status().content
    ours = run.load(requests, clients, (200, 204))
    base = run.ceiling(body, requests, clients)
    share = f"{run.plan.read_write_ratio:.0%} reads"
    run.result.rows.append(_load_row("read-update", f"mix, {share}", clients, ours, base))


def _stream_row(
    pass_name: str, work: str, clients: int, result: PolarisLoadResult, stream: str
) -> Row:
    figures = result.streams[stream]
    return {
        "pass": pass_name,
        "work": work,
        "clients": clients,
        "count": figures.requests,
        "rate": figures.rate,
        "p50": figures.latency.p50,
        "p90": figures.latency.p90,
        "p99": figures.latency.p99,
        "share_409": figures.share(409),
        "server_cpu": result.server_cpu,
        "errors": result.errors,
        "catalog": figures.to_json(),
    }


def commits_pass(run: Pass) -> None:
    plan = run.plan
    leaf = plan.tree.leaves()[0]
    names = [f"commits_{i}" for i in range(plan.commit_tables)]
    targets = run.create_tables(leaf, names)
    result = run_polaris_load(
        PolarisLoadSpec(
            "paced",
            ("127.0.0.1", run.server.port),
            run.headers,
            targets,
            seconds=plan.commits / plan.commit_rate * 3 + 60,
            rate=plan.commit_rate,
            commits=plan.commits,
        ),
        [pid_of(run.server)],
    )
    appends = plan.commits // plan.commit_tables
    raw = run.raw(leaf, [f"floor_commits_{i}" for i in range(plan.commit_tables)], appends)
    row = _stream_row(
        "create-commits",
        f"appends at {plan.commit_rate:g}/s",
        plan.commit_tables,
        result,
        "commits",
    )
    lag = result.streams["commits"].lag
    row |= {
        "target_rate": plan.commit_rate,
        "lag_p99": lag.p99 if lag else None,
        "snapshots_per_table": appends,
        "baseline": "raw file+CAS",
        "base_rate": raw.rate,
        "base_p50": raw.attempt.p50,
        "raw": raw.to_json(),
    }
    run.result.rows.append(_with_ratios(row))


def mix_pass(run: Pass) -> None:
    plan = run.plan
    tables = plan.tree.tables()
    targets = []
    for levels, name in tables:
        metadata = run.http.get(table_path(levels, name)).raise_for_status().json()["metadata"]
        targets.append(TableTarget(table_path(levels, name), list(levels), name, metadata))
    result = run_polaris_load(
        PolarisLoadSpec(
            "mix",
            ("127.0.0.1", run.server.port),
            run.headers,
            targets,
            seconds=plan.mix_seconds,
            readers=plan.readers,
            writers=plan.writers,
            reader_spread=Spread(0.3, POLARIS_SD),
            writer_spread=Spread(0.7, POLARIS_SD),
            warmup=plan.warmup,
        ),
        [pid_of(run.server)],
    )
    reads = _stream_row("weighted mix", "reads (loadTable)", plan.readers, result, "reads")
    # The ceiling: the same clients loading the same tables (uniformly) from the bare app.
    sample = random.Random(0).sample(tables, min(len(tables), 50))
    requests = [Request(table_path(*t), headers=run.headers) for t in sample]
    body = run.http.get(requests[0].path).raise_for_status().content
    base = run.ceiling(body, requests, plan.readers)
    reads |= {
        "baseline": "bare ASGI ceiling",
        "base_rate": base.rate,
        "base_p50": base.latency.p50,
        "ceiling": base.to_json(),
    }
    writes = _stream_row("weighted mix", "writes (appends)", plan.writers, result, "writes")
    landed = result.streams["writes"].requests
    leaf = plan.tree.leaves()[0]
    raw = run.raw(
        leaf, [f"floor_mix_{i}" for i in range(plan.writers)], max(1, landed // plan.writers)
    )
    writes |= {
        "baseline": "raw file+CAS",
        "base_rate": raw.rate,
        "base_p50": raw.attempt.p50,
        "raw": raw.to_json(),
    }
    for row in (reads, writes):
        run.result.rows.append(_with_ratios(row))


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "polaris", "Apache Polaris' benchmark workload shapes vs our baselines", COLUMNS
    )
    data_dir = workspace.directory("polaris")
    with catalog_servers(data_dir, None) as [server]:
        run_ = Pass(server, plan, result)
        try:
            created = create_tree(f"{server.url}{PREFIX}", run_.headers, plan.tree)
            create_pass(run_, created)
            read_pass(run_)
            read_update_pass(run_)
            commits_pass(run_)
            mix_pass(run_)
        finally:
            run_.close()
    tree = plan.tree
    result.notes += [
        f"dataset: {tree.describe()}; SQLite; one catalog process; admin API token",
        "create-tree: httpx async client, 20 requests in flight for namespaces and tables, 10 "
        "for views (Polaris' defaults); namespaces level by level; base: raw file+CAS writing the "
        f"same table's metadata ({plan.raw_appends} appends, one writer)",
        HOW_IT_RUNS,
        f"read-only and read-update: {plan.warmup:g} s warm-up, then {plan.seconds:g} s; "
        "ceiling: the bare ASGI app answering the same requests with the first object's body",
        f"read-update: {plan.read_write_ratio:.0%} reads (list namespaces/tables/views, load "
        "namespace/table/view), the rest writes (set namespace, table and view properties, "
        "no requirements); 409 share of all requests",
        f"create-commits: {plan.commits:,} appends (add-snapshot + set-snapshot-ref, "
        f"assert-ref-snapshot-id) paced at {plan.commit_rate:g}/s over {plan.commit_tables} "
        "tables, one connection each; p50/p90/p99: service time; lag p99 in the JSON; base: raw "
        "file+CAS making the same appends to twin tables as fast as it can",
        f"weighted mix: {plan.readers} readers ~N(0.3, 0.167) and {plan.writers} writers "
        f"~N(0.7, 0.167) over the table space for {plan.mix_seconds:g} s; writers append with "
        "assert-ref-snapshot-id, a 409 reloads that table and moves on; 409 share of write "
        "attempts; read base: the ceiling (8 clients, 50 tables); write base: raw file+CAS, one "
        "twin table per writer",
    ]
    result.data["plan"] = {
        "tree": tree.__dict__,
        "namespaces": tree.namespace_count,
        "tables": len(tree.tables()),
        "views": len(tree.views()),
    }
    return result
