"""Listing a big catalog: table and namespace pages, next to loading one table.

Engines and UIs list before they load; with keyset pagination a page should cost about as much
as a loadTable whatever the page's position, and walking the whole listing should be linear.
The catalog holds 100,000 tables in one namespace (and 10,000 more namespaces), populated
directly (`populate.py`). For each listing and page size: one client walks every page in order
(following next-page-token: the walk's total time and per-page latency), then eight clients
fetch pages at random positions (throughput). The baseline is loadTable of random tables with
the same clients, measured right after. The last rows ask for everything in one response (no
pageSize), which the spec allows and some clients do.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.benchmarks.loadgen import LoadResult, LoadSpec, Request, run_load
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, catalog_servers, pid_of
from tests.benchmarks.workspace import Workspace

CLIENTS = 8


@dataclass(frozen=True)
class Plan:
    tables: int
    page_sizes: tuple[int, ...]
    seconds: float
    warmup: float
    unpaged_requests: int


FULL = Plan(100_000, (100, 1000), seconds=4.0, warmup=0.5, unpaged_requests=5)
QUICK = Plan(10_000, (100, 1000), seconds=1.5, warmup=0.3, unpaged_requests=2)

COLUMNS = [
    Column("listing", "listing"),
    Column("page_size", "pageSize"),
    Column("items", "items", "int"),
    Column("pages", "pages", "int"),
    Column("walk_seconds", "walk s", "seconds"),
    Column("body", "page body", "bytes"),
    Column("walk_p50", "page p50 ms", "ms"),
    Column("load_p50", "load p50 ms", "ms"),
    Column("p50_ratio", "p50 ÷ load", "ratio"),
    Column("rate", f"pages/s {CLIENTS} cl.", "rate"),
    Column("p99", "p99 ms", "ms"),
    Column("load_rate", f"loads/s {CLIENTS} cl.", "rate"),
    Column("rate_ratio", "÷ load", "ratio"),
]


def page_paths(client: httpx.Client, path: str, page_size: int) -> list[str]:
    """Every page of a listing, as the path that fetches it (found by walking the tokens)."""
    paths = [f"{path}?pageSize={page_size}"]
    while True:
        token = client.get(paths[-1]).raise_for_status().json().get("next-page-token")
        if not token:
            return paths
        paths.append(f"{path}?pageSize={page_size}&pageToken={token}")


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    populated = workspace.populated(plan.tables)
    result = SuiteResult("list", f"listing pages at {plan.tables:,} tables vs loadTable", COLUMNS)
    with catalog_servers(populated.data_dir, populated.database_url) as [server]:
        headers = auth_headers(server.data_dir)
        target = [("127.0.0.1", server.port)]
        pids = [pid_of(server)]
        prefix = "/v1/default/namespaces"
        loads = [
            Request(
                f"{prefix}/{populated.namespace}/tables/{populated.table_name(i)}",
                headers=headers,
            )
            for i in range(0, plan.tables, max(1, plan.tables // 1000))
        ]

        def measure(requests: list[Request], clients: int, count: int | None = None) -> LoadResult:
            if count is not None:  # one pass over `requests`, in order
                spec = LoadSpec(target, requests, clients, 600, count=count, shuffle=False)
            else:
                spec = LoadSpec(target, requests, clients, plan.seconds, plan.warmup)
            return run_load(spec, pids)

        listings = {
            "tables": (f"{prefix}/{populated.namespace}/tables", plan.tables),
            "namespaces": (prefix, populated.namespaces + 1),
        }
        with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
            for listing, (path, items) in listings.items():
                for page_size in plan.page_sizes:
                    pages = [
                        Request(p, headers=headers) for p in page_paths(client, path, page_size)
                    ]
                    walk = measure(pages, 1, count=len(pages))
                    one_load = measure(loads, 1)
                    spread = measure(pages, CLIENTS)
                    many_loads = measure(loads, CLIENTS)
                    result.rows.append(
                        compare(listing, str(page_size), items, walk, one_load, spread, many_loads)
                    )
                whole = measure([Request(path, headers=headers)], 1, count=plan.unpaged_requests)
                one_load = measure(loads, 1)
                result.rows.append(compare(listing, "none", items, whole, one_load, None, None))
    result.notes += [
        "walk: one client fetches every page in order, following next-page-token (page p50 is "
        "its median page); pages/s: "
        f"{CLIENTS} clients fetch pages at random positions for {plan.seconds:g} s",
        "loadTable of random tables is measured right after, with one client (next to the walk) "
        f"and with {CLIENTS} (next to pages/s); p50 ÷ load: page p50 ÷ load p50; ÷ load: pages/s ÷ "
        "loads/s",
        f"pageSize none: the whole listing in one response (the spec's default), "
        f"{plan.unpaged_requests} requests by one client",
        f"{populated.tables:,} tables in one namespace, {populated.namespaces:,} more empty "
        "namespaces; SQLite; one catalog process",
    ]
    return result


def compare(
    listing: str,
    page_size: str,
    items: int,
    walk: LoadResult,
    one_load: LoadResult,
    spread: LoadResult | None,
    many_loads: LoadResult | None,
) -> Row:
    return {
        "listing": listing,
        "page_size": page_size,
        "items": items,
        "pages": walk.requests,
        "walk_seconds": walk.latency.mean * walk.requests / 1000,
        "body": walk.mean_body_bytes,
        "walk_p50": walk.latency.p50,
        "load_p50": one_load.latency.p50,
        "p50_ratio": ratio(walk.latency.p50, one_load.latency.p50),
        "rate": spread.rate if spread else None,
        "p99": spread.latency.p99 if spread else None,
        "load_rate": many_loads.rate if many_loads else None,
        "rate_ratio": ratio(spread.rate, many_loads.rate) if spread and many_loads else None,
        "errors": sum(r.unexpected + r.errors for r in (walk, one_load, spread, many_loads) if r),
        "walk": walk.to_json(),
        "loadTable_1": one_load.to_json(),
        "spread": spread.to_json() if spread else None,
        "loadTable_n": many_loads.to_json() if many_loads else None,
    }
