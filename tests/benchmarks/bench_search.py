"""Search in a big catalog, next to loadTable in the same run.

The catalog holds 100,000 tables in one namespace (and 10,000 more namespaces), populated
directly with their search entries (`populate.py`). Each query is asked by one client for a few
seconds (its latency), then loadTable of random tables is measured right after with the same
client: the ratio says what a search costs in loads. The queries are a table's name (one hit), a
column only one table has (created over HTTP after populating), a prefix of names (a hundred
hits), a column name every table has (every table a hit) and a word found nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.benchmarks.loadgen import LoadResult, LoadSpec, Request, run_load
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, catalog_servers, pid_of
from tests.benchmarks.workspace import Workspace

PAGE_SIZE = 20
RARE_COLUMN = "loyalty_tier"


RARE_SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [
        {"id": 1, "name": "member_id", "type": "long", "required": True},
        {"id": 2, "name": RARE_COLUMN, "type": "string", "required": False},
    ],
}


@dataclass(frozen=True)
class Plan:
    tables: int
    seconds: float
    warmup: float


FULL = Plan(100_000, seconds=4.0, warmup=0.5)
QUICK = Plan(10_000, seconds=1.5, warmup=0.3)

COLUMNS = [
    Column("query", "query"),
    Column("hits", "what it finds"),
    Column("p50", "search p50 ms", "ms"),
    Column("p99", "search p99 ms", "ms"),
    Column("load_p50", "load p50 ms", "ms"),
    Column("p50_ratio", "p50 ÷ load", "ratio"),
]


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    populated = workspace.populated(plan.tables)
    result = SuiteResult("search", f"search among {plan.tables:,} tables vs loadTable", COLUMNS)
    middle = populated.table_name(plan.tables // 2)
    queries = {
        middle: "one table, by name",
        RARE_COLUMN: "one table, by a column only it has",
        middle[:-2]: "100 tables, by name prefix",
        "country": f"every table, by column ({PAGE_SIZE} shown)",
        "zzzznothing": "nothing",
    }
    with catalog_servers(populated.data_dir, populated.database_url) as [server]:
        headers = auth_headers(server.data_dir)
        target = [("127.0.0.1", server.port)]
        pids = [pid_of(server)]
        loads = [
            Request(
                f"/v1/default/namespaces/{populated.namespace}/tables/{populated.table_name(i)}",
                headers=headers,
            )
            for i in range(0, plan.tables, max(1, plan.tables // 1000))
        ]

        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            client.post(
                f"/v1/default/namespaces/{populated.namespace}/tables",
                json={"name": "members", "schema": RARE_SCHEMA},
            ).raise_for_status()

        def measure(requests: list[Request]) -> LoadResult:
            return run_load(LoadSpec(target, requests, 1, plan.seconds, plan.warmup), pids)

        for query, hits in queries.items():
            path = f"/admin/v1/search?q={query}&warehouse=default&pageSize={PAGE_SIZE}"
            searched = measure([Request(path, headers=headers)])
            loaded = measure(loads)
            result.rows.append(compare(query, hits, searched, loaded))
    result.notes += [
        f"one client, {plan.seconds:g} s per query; loadTable of random tables right after, "
        "same client",
        f"{populated.tables:,} tables in one namespace, {populated.namespaces:,} more "
        "namespaces, all with search entries; SQLite (FTS5); one catalog process",
    ]
    return result


def compare(query: str, hits: str, searched: LoadResult, loaded: LoadResult) -> Row:
    return {
        "query": query,
        "hits": hits,
        "p50": searched.latency.p50,
        "p99": searched.latency.p99,
        "load_p50": loaded.latency.p50,
        "p50_ratio": ratio(searched.latency.p50, loaded.latency.p50),
        "errors": searched.unexpected + searched.errors + loaded.unexpected + loaded.errors,
        "search": searched.to_json(),
        "loadTable": loaded.to_json(),
    }
