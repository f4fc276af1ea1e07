"""Appends to a wide table: 999 columns (the width of the tables in Polaris' benchmark tree,
`polaris_tree.schema`) next to the 13-column event table the other suites use, each against
the raw floor (`rawcommit.py`: one metadata file with fsync + one compare-and-swap, in-process,
no parsing) appending to a twin table of the same width, in the same run.

The catalog's commit parses the stored metadata and its schemas on every request; the floor
does not, so what grows with the width faster than the floor is the catalog's own model work.
Each append is the updateTable request PyIceberg sends (`appends.py`), one writer on one table.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.benchmarks.bench_commit import EVENT_TABLE, create_tables
from tests.benchmarks.commitload import CommitSpec, WriterSpec, run_commits
from tests.benchmarks.polaris_tree import properties, schema
from tests.benchmarks.rawcommit import run_raw
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, catalog_client, catalog_servers, pid_of
from tests.benchmarks.workspace import Workspace

NAMESPACE = "bench"
WIDE_COLUMNS = 999
WIDE_PROPERTIES = 59  # as Polaris' tree tables carry
WIDE_TABLE = {
    "schema": schema(WIDE_COLUMNS),
    "properties": properties("initial_attribute", WIDE_PROPERTIES),
}


@dataclass(frozen=True)
class Plan:
    appends: int


FULL = Plan(appends=100)
QUICK = Plan(appends=5)

COLUMNS = [
    Column("columns", "columns", "int"),
    Column("metadata", "metadata", "bytes"),
    Column("rate", "appends/s", "rate"),
    Column("p50", "p50 ms", "ms"),
    Column("p99", "p99 ms", "ms"),
    Column("server_cpu", "srv CPU", "cpu"),
    Column("raw_rate", "raw/s", "rate"),
    Column("raw_p50", "raw p50", "ms"),
    Column("raw_ratio", "÷ raw", "ratio"),
]


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "wide_commit", "appends to a 999-column table vs a 13-column one, each vs raw", COLUMNS
    )
    data_dir = workspace.directory("wide")
    with catalog_servers(data_dir, None) as [server], catalog_client(server) as client:
        client.post("/namespaces", json={"namespace": [NAMESPACE]}).raise_for_status()
        for width, definition in ((13, EVENT_TABLE), (WIDE_COLUMNS, WIDE_TABLE)):
            name = f"w{width}"
            metadata = create_tables(client, [name, f"{name}_raw"], definition)[name]
            ours = run_commits(
                CommitSpec(
                    [WriterSpec(("127.0.0.1", server.port), NAMESPACE, name, metadata)],
                    auth_headers(data_dir),
                    plan.appends,
                    600,
                ),
                [pid_of(server)],
            )
            database_url = f"sqlite:///{data_dir / 'catalog.db'}"
            raw = run_raw(database_url, NAMESPACE, [f"{name}_raw"], plan.appends)
            row: Row = {
                "columns": width,
                "metadata": len(client.get(f"/namespaces/{NAMESPACE}/tables/{name}").content),
                "rate": ours.rate,
                "p50": ours.append.p50,
                "p99": ours.append.p99,
                "server_cpu": ours.server_cpu,
                "raw_rate": raw.rate,
                "raw_p50": raw.append.p50,
                "raw_ratio": ratio(ours.rate, raw.rate),
                "errors": ours.errors + raw.errors,
                "catalog": ours.to_json(),
                "raw": raw.to_json(),
            }
            result.rows.append(row)
    result.notes += [
        f"{plan.appends} appends per table, one writer, each an updateTable add-snapshot + "
        "set-snapshot-ref from a separate client process; raw: the same count on a twin table "
        "(SQLite, the catalog's database)",
        f"13 columns: the event table of metadata.py (nested types, day partition); "
        f"{WIDE_COLUMNS} columns: required ints, unpartitioned, {WIDE_PROPERTIES} properties "
        "(polaris_tree.py's tables); metadata: the loadTable body after the appends",
    ]
    return result
