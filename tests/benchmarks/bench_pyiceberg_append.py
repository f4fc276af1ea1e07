"""A user's PyIceberg `table.append()`, end to end through icefloe, next to PyIceberg's own
in-process `SqlCatalog` doing the same appends, and what one append asks of each server port.

Unlike `bench_commit` (which sends the updateTable request PyIceberg would send and writes no
data), each append here is the real thing: PyIceberg writes a Parquet file, a manifest and a
manifest list through its FileIO, then commits. Both systems use the same PyIceberg, the same
pyarrow table, the same table definition (`metadata.py`) and the same number of appends, one
writer on one table, in the same run. Two warehouses:

- the embedded store (the product's default): the client writes its files to the store with
  the credentials the catalog vends, and the catalog writes its metadata files there too
  (in-process: the store runs in the catalog's process); the baseline `SqlCatalog` writes to
  the same store over S3, under the root key;
- a local folder (`file://`), for the catalog and for `SqlCatalog` alike.

The catalog runs with its access logs at INFO (one line per request on the catalog port and
one per request on the embedded store's port); after the timed appends a few more are made and
the log lines they caused are counted by port, caller and operation, with the time the server
spent answering them. The log costs well under a millisecond per request, next to appends of
tens of milliseconds.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table import Table

from catalog.embedded_store import EmbeddedStore
from catalog.settings import Settings
from tests.benchmarks.inprocess import run_writers
from tests.benchmarks.metadata import PARTITION_SPEC, PROPERTIES, SCHEMA
from tests.benchmarks.pyiceberg_sql import open_sql_catalog
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import catalog_servers
from tests.benchmarks.stats import CommitResult
from tests.benchmarks.workspace import Workspace

NAMESPACE = "bench"
TABLE = "events"
RECORDS = 100  # per append: one small Parquet file, as APPEND_SUMMARY describes
WAREHOUSES = ("embedded", "file")
_FIELD = re.compile(r"(\w+)=(\S+)")


@dataclass(frozen=True)
class Plan:
    appends: int  # timed, per system and warehouse
    counted: int  # more appends whose requests are counted


FULL = Plan(appends=100, counted=5)
QUICK = Plan(appends=4, counted=2)

COLUMNS = [
    Column("warehouse", "warehouse"),
    Column("rate", "icefloe appends/s", "rate"),
    Column("p50", "p50 ms", "ms"),
    Column("p99", "p99 ms", "ms"),
    Column("sql_rate", "SqlCatalog appends/s", "rate"),
    Column("sql_p50", "SqlCat p50", "ms"),
    Column("sql_p99", "SqlCat p99", "ms"),
    Column("sql_ratio", "icefloe ÷ SqlCatalog", "ratio"),
    Column("file_ratio", "icefloe ÷ SqlCatalog on file://", "ratio"),
    Column("catalog_requests", "catalog reqs/append", "cpu"),
    Column("s3_requests", "S3 reqs/append", "cpu"),
]
REQUEST_COLUMNS = [
    Column("warehouse", "warehouse"),
    Column("port", "port"),
    Column("caller", "caller"),
    Column("operation", "operation"),
    Column("per_append", "requests/append", "cpu"),
    Column("ms_per_append", "server ms/append", "ms"),
]


def arrow_batch(table: Table, records: int) -> pa.Table:
    """`records` rows of `metadata.SCHEMA`, all on one day (one partition, one data file), typed
    by the table's schema as created (the catalog reassigns field ids)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "event_id": i,
            "event_time": start + timedelta(seconds=i),
            "user_id": f"user-{i % 17}",
            "country": ("NL", "DE", "FR")[i % 3],
            "amount": Decimal(i) / 4,
            "tags": ["a", "b"],
            "attributes": [("source", "bench")],
            "device": {"os": "linux", "version": "6"},
        }
        for i in range(records)
    ]
    return pa.Table.from_pylist(rows, schema=table.schema().as_arrow())


class TableAppender:
    """One writer appending the same batch to one table (alone on it: no conflicts)."""

    def __init__(self, table: Table, batch: pa.Table) -> None:
        self._table = table
        self._batch = batch

    def try_append(self) -> bool:
        self._table.append(self._batch)
        return True


def timed_appends(catalog: Catalog, appends: int) -> tuple[Table, CommitResult]:
    catalog.create_namespace_if_not_exists(NAMESPACE)
    table = catalog.create_table(
        f"{NAMESPACE}.{TABLE}", schema=SCHEMA, partition_spec=PARTITION_SPEC, properties=PROPERTIES
    )
    batch = arrow_batch(table, RECORDS)
    return table, run_writers([TableAppender(table, batch)], appends, 600)


def sql_catalog_beside(
    store: EmbeddedStore, warehouse: str, directory: Path, table_location: str
) -> Catalog:
    """SqlCatalog on SQLite, its files where the catalog's table put its own."""
    database = f"sqlite:///{directory / 'sqlcatalog.db'}"
    if warehouse == "file":
        return open_sql_catalog(database, directory / "warehouse")
    bucket = table_location.split("/")[2]
    profile = store.profile()
    return open_sql_catalog(
        database,
        f"s3://{bucket}/sqlcatalog",
        **{
            "s3.endpoint": profile["endpoint"],
            "s3.region": profile["region"],
            "s3.access-key-id": profile["access-key-id"],
            "s3.secret-access-key": profile["secret-access-key"],
        },
    )


def count_requests(
    log_lines: list[str], appends: int, root_key: str
) -> dict[tuple[str, str, str], tuple[float, float]]:
    """(port, caller, operation) -> (requests, server ms) per append, from the access logs."""
    counts: Counter[tuple[str, str, str]] = Counter()
    millis: defaultdict[tuple[str, str, str], float] = defaultdict(float)
    for line in log_lines:
        fields = dict(_FIELD.findall(line))
        if fields.get("event") == "request":
            path = fields["path"].replace(f"/namespaces/{NAMESPACE}", "/namespaces/{ns}")
            key = ("catalog", "client", f"{fields['method']} {path.replace(TABLE, '{table}')}")
            spent = float(fields["ms"])
        elif fields.get("event") == "s3.request":
            caller = "catalog (root key)" if fields["access_key"] == root_key else "client"
            key = ("S3", caller, fields["operation"])
            spent = float(fields["duration_ms"])
        else:
            continue
        counts[key] += 1
        millis[key] += spent
    return {key: (counts[key] / appends, millis[key] / appends) for key in sorted(counts)}


def run_warehouse(workspace: Workspace, warehouse: str, plan: Plan) -> list[Row]:
    data_dir = workspace.directory(f"append-{warehouse}")
    env = {"ICEFLOE_LOG_LEVEL": "INFO"}
    with catalog_servers(data_dir, None, storage=warehouse, env=env) as [server]:
        store = EmbeddedStore.from_settings(
            Settings(data_dir=server.data_dir, s3_port=server.s3_port)
        )
        rest = RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)
        table, ours = timed_appends(rest, plan.appends)
        sql_catalog = sql_catalog_beside(
            store, warehouse, workspace.directory(f"sqlcatalog-{warehouse}"), table.location()
        )
        _, sql = timed_appends(sql_catalog, plan.appends)
        batch = arrow_batch(table, RECORDS)
        start = server.log_path.stat().st_size
        for _ in range(plan.counted):
            table.append(batch)
        with server.log_path.open("rb") as log:
            log.seek(start)
            lines = log.read().decode("utf-8", "replace").splitlines()
        requests = count_requests(lines, plan.counted, store.root.access_key_id)
    summary: Row = {
        "warehouse": warehouse,
        "rate": ours.rate,
        "p50": ours.append.p50,
        "p99": ours.append.p99,
        "sql_rate": sql.rate,
        "sql_p50": sql.append.p50,
        "sql_p99": sql.append.p99,
        "sql_ratio": ratio(ours.rate, sql.rate),
        "catalog_requests": sum(n for (port, *_), (n, _) in requests.items() if port == "catalog"),
        "s3_requests": sum(n for (port, *_), (n, _) in requests.items() if port == "S3"),
        "errors": ours.errors + sql.errors,
        "catalog": ours.to_json(),
        "sqlcatalog": sql.to_json(),
    }
    details = [
        {
            "warehouse": warehouse,
            "port": port,
            "caller": caller,
            "operation": operation,
            "per_append": per_append,
            "ms_per_append": spent,
        }
        for (port, caller, operation), (per_append, spent) in requests.items()
    ]
    return [summary, *details]


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "pyiceberg_append",
        "PyIceberg table.append() through icefloe vs PyIceberg's in-process SqlCatalog",
        COLUMNS,
    )
    requests = SuiteResult(
        "pyiceberg_append requests",
        f"HTTP requests one append makes, counted over {plan.counted} appends after the timed "
        "ones (from the catalog's and the embedded store's access logs)",
        REQUEST_COLUMNS,
    )
    for warehouse in WAREHOUSES:
        summary, *details = run_warehouse(workspace, warehouse, plan)
        result.rows.append(summary)
        requests.rows += details
    on_files = next(row["sql_rate"] for row in result.rows if row["warehouse"] == "file")
    for row in result.rows:
        row["file_ratio"] = ratio(row["rate"], on_files)
    result.tables.append(requests)
    result.notes += [
        f"{plan.appends} appends per system and warehouse, one writer on one fresh table, "
        f"{RECORDS} records per append (one Parquet file), the same pyarrow table every time; "
        "p50/p99: one table.append() call, data files included",
        "icefloe: PyIceberg's RestCatalog in this process, the catalog in its own (SQLite, "
        "access logs at INFO); SqlCatalog: PyIceberg's, in this process, on SQLite, its files "
        "beside the catalog's (the embedded store under the root key, or a local folder)",
        "embedded: the client writes data and manifests with vended credentials; the catalog "
        "writes each metadata file to the same store in-process (no request on its port; a "
        "catalog over S3 would show as caller 'catalog (root key)'); "
        "'÷ SqlCatalog on file://' compares with the file row's SqlCatalog, as issue 18 did",
    ]
    return result
