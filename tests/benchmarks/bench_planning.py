"""Server-side scan planning against PyIceberg planning the same scan itself.

One catalog process on the embedded S3 store (the product's default), so both planners read
the same manifests from the same object store. Each table holds `manifests` manifests of
`files` data files (entries only, as `tests.planning.files` writes them; no data is read).
Three ways to plan `table.scan(row_filter).plan_files()` with PyIceberg 0.12:

- client: `scan-planning-mode=client`, PyIceberg reads the manifest list and every manifest;
- server, cold: the first server plan of a table whose manifests no plan has read yet (a fresh
  table per sample: the manifest cache is keyed by manifest path);
- server, warm: the same scan again, its manifests in the server's cache.

Each with no filter (every file planned) and with a selective one (`id < 50`: a few files
out of thousands, pruned by column bounds). Ratios are the client's median over each median,
measured in the same run: above 1 the server is faster.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression, LessThan
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import LongType, NestedField

from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import catalog_servers
from tests.benchmarks.workspace import Workspace
from tests.planning.files import commit_files, fake_data_file


@dataclass(frozen=True)
class Plan:
    manifests: int
    files: int  # per manifest
    cold: int  # fresh tables per filter (one cold sample each)
    warm: int  # repeated plans (client and warm server)


FULL = Plan(manifests=100, files=100, cold=5, warm=15)
QUICK = Plan(manifests=20, files=50, cold=2, warm=5)

FILTERS: dict[str, BooleanExpression] = {
    "no filter": AlwaysTrue(),
    "id < 50": LessThan("id", 50),
}

COLUMNS = [
    Column("filter", "filter"),
    Column("planned", "files planned", "int"),
    Column("client", "client p50 ms", "ms"),
    Column("cold", "server cold p50 ms", "ms"),
    Column("warm", "server warm p50 ms", "ms"),
    Column("cold_ratio", "client ÷ cold", "ratio"),
    Column("warm_ratio", "client ÷ warm", "ratio"),
]


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    files = plan.manifests * plan.files
    result = SuiteResult(
        "planning",
        f"plan_files() on {plan.manifests} manifests of {plan.files} files: server vs client",
        COLUMNS,
    )
    env = {
        # PyIceberg 0.12 cannot poll a `submitted` plan: answer every plan `completed`
        "ICEFLOE_PLANNING_SUBMIT_MANIFESTS": str(plan.manifests + 1),
    }
    data_dir = workspace.directory("planning")
    with catalog_servers(data_dir, None, storage="embedded", env=env) as [server]:
        client, remote = (_catalog(server.url, server.token, mode) for mode in ("client", "server"))
        assert remote.supports_server_side_planning()
        client.create_namespace("bench")
        fresh = iter(range(1_000_000))

        def new_table() -> str:
            name = f"bench.t{next(fresh)}"
            table = client.create_table(
                name, schema=Schema(NestedField(1, "id", LongType(), required=False))
            )
            groups = [
                [
                    fake_data_file(table, n, 10 * n, 10 * n + 9)
                    for n in range(m * plan.files, (m + 1) * plan.files)
                ]
                for m in range(plan.manifests)
            ]
            commit_files(table, data_groups=groups)
            return name

        for label, row_filter in FILTERS.items():
            cold_tables = [remote.load_table(new_table()) for _ in range(plan.cold)]
            cold = [_timed(table, row_filter)[0] for table in cold_tables]
            warm_table = cold_tables[0]
            warm = [_timed(warm_table, row_filter)[0] for _ in range(plan.warm)]
            local = client.load_table(warm_table.name())
            local_runs = [_timed(local, row_filter) for _ in range(plan.warm)]
            planned = _plan(warm_table, row_filter)
            assert planned == local_runs[0][1], "the server planned other files than the client"
            result.rows.append(_row(label, len(planned), [s for s, _ in local_runs], cold, warm))
    result.notes += [
        f"{files:,} data files in {plan.manifests} manifests per table, unpartitioned; "
        "PyIceberg 0.12 both sides, one client, medians; embedded S3 store, SQLite, "
        "one catalog process",
        f"cold: {plan.cold} fresh tables per filter (first plan of their manifests); warm and "
        f"client: {plan.warm} plans each",
    ]
    return result


def _catalog(url: str, token: str, mode: str) -> RestCatalog:
    return RestCatalog(
        f"bench-{mode}",
        uri=url,
        warehouse="default",
        token=token,
        **{"scan-planning-mode": mode},
    )


def _plan(table: Table, row_filter: BooleanExpression) -> frozenset[str]:
    return frozenset(task.file.file_path for task in table.scan(row_filter=row_filter).plan_files())


def _timed(table: Table, row_filter: BooleanExpression) -> tuple[float, frozenset[str]]:
    started = time.perf_counter()
    value = _plan(table, row_filter)
    return (time.perf_counter() - started) * 1000, value


def _row(
    label: str, planned: int, client: list[float], cold: list[float], warm: list[float]
) -> Row:
    medians = {
        name: statistics.median(v)
        for name, v in (("client", client), ("cold", cold), ("warm", warm))
    }
    return {
        "filter": label,
        "planned": planned,
        **medians,
        "cold_ratio": ratio(medians["client"], medians["cold"]),
        "warm_ratio": ratio(medians["client"], medians["warm"]),
        "errors": 0,
        "samples_ms": {"client": client, "cold": cold, "warm": warm},
    }
