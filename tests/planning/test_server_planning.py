"""PyIceberg 0.12 with `scan-planning-mode=server` reads the same rows, from the same planned
files, as PyIceberg planning the scan itself, over HTTP against a real server."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    Not,
    Or,
    StartsWith,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.typedef import Record
from pyiceberg.types import DateType, LongType, NestedField, StringType

from tests.planning.files import commit_files, equality_delete, position_delete
from tests.support.engines import local_replacements, run_sql
from tests.support.error_model import assert_error

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "city", StringType(), required=False),
    NestedField(3, "day", DateType(), required=False),
)
ARROW = pa.schema([("id", pa.int64()), ("city", pa.string()), ("day", pa.date32())])
FILTERS: list[BooleanExpression] = [
    AlwaysTrue(),
    EqualTo("id", 3),
    GreaterThanOrEqual("id", 5),
    In("city", ["Oslo", "Pune"]),
    And(LessThan("day", date(2024, 1, 3)), Not(EqualTo("city", "Lima"))),
    Or(StartsWith("city", "O"), IsNull("city")),
]


def batch(start: int, count: int, nulls: bool = True) -> pa.Table:
    cities = ["Oslo", "Lima", "Pune", None if nulls else "Kyiv"]
    return pa.table(
        {
            "id": pa.array(range(start, start + count), pa.int64()),
            "city": pa.array([cities[i % 4] for i in range(start, start + count)], pa.string()),
            "day": pa.array([date(2024, 1, 1 + i % 5) for i in range(start, start + count)]),
        },
        schema=ARROW,
    )


def plan(catalog: RestCatalog, identifier: str, **scan: Any) -> set[tuple[str, frozenset[str]]]:
    tasks = catalog.load_table(identifier).scan(**scan).plan_files()
    return {(t.file.file_path, frozenset(d.file_path for d in t.delete_files)) for t in tasks}


def rows(catalog: RestCatalog, identifier: str, **scan: Any) -> list[dict[str, Any]]:
    return sorted(catalog.load_table(identifier).scan(**scan).to_arrow().to_pylist(), key=str)


def assert_same(server: RestCatalog, client: RestCatalog, identifier: str, **scan: Any) -> None:
    assert plan(server, identifier, **scan) == plan(client, identifier, **scan)
    assert rows(server, identifier, **scan) == rows(client, identifier, **scan)


def test_unpartitioned_table_reads_the_same_rows_for_every_filter(
    server_planned: RestCatalog, client_planned: RestCatalog, space: str
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    for start in (0, 4, 8):
        table.append(batch(start, 4))
    for row_filter in FILTERS:
        assert_same(server_planned, client_planned, f"{space}.t", row_filter=row_filter)
    pruned = plan(server_planned, f"{space}.t", row_filter=EqualTo("id", 5))
    assert len(pruned) == 1  # the metrics evaluator pruned the other two files


def test_partitioned_table_prunes_by_partition_like_the_client(
    server_planned: RestCatalog, client_planned: RestCatalog, space: str
) -> None:
    spec = PartitionSpec(
        PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="day_day")
    )
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA, partition_spec=spec)
    table.append(batch(0, 10))
    table.append(batch(10, 10))
    for row_filter in FILTERS:
        assert_same(server_planned, client_planned, f"{space}.t", row_filter=row_filter)
    one_day = plan(server_planned, f"{space}.t", row_filter=EqualTo("day", date(2024, 1, 2)))
    assert 0 < len(one_day) < len(plan(server_planned, f"{space}.t"))


def test_after_schema_and_partition_evolution_each_spec_prunes_with_its_own_projection(
    server_planned: RestCatalog, client_planned: RestCatalog, space: str
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 8))
    with table.update_schema() as update:
        update.add_column("kind", StringType())
    with table.update_spec() as update:
        update.add_field("city", IdentityTransform(), "city")
    table = client_planned.load_table(f"{space}.t")
    # No null partition value: PyIceberg 0.12 cannot read one in a plan (its model of
    # `partition` has no null), so the server's null would fail the client, not the plan.
    more = batch(8, 8, nulls=False).append_column("kind", pa.array(["x", "y"] * 4, pa.string()))
    table.append(more)
    for row_filter in [*FILTERS, EqualTo("kind", "x"), IsNull("kind")]:
        assert_same(server_planned, client_planned, f"{space}.t", row_filter=row_filter)


def test_position_deletes_are_matched_and_applied(
    server_planned: RestCatalog, client_planned: RestCatalog, space: str
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 6))
    table.append(batch(6, 6))
    first = next(iter(table.scan(row_filter=EqualTo("id", 0)).plan_files())).file
    table = commit_files(table, deletes=[position_delete(table, first, [0, 2])])
    assert_same(server_planned, client_planned, f"{space}.t")
    assert {r["id"] for r in rows(server_planned, f"{space}.t")} == set(range(12)) - {0, 2}
    # Without path bounds a position delete file may hold rows of any file of its partition
    # written before it: both files get it, as Iceberg plans it.
    with_deletes = [d for _, d in plan(server_planned, f"{space}.t") if d]
    assert len(with_deletes) == 2


def test_position_deletes_written_by_duckdb_are_planned_as_the_client_plans_them(
    server_planned: RestCatalog, client_planned: RestCatalog, space: str, planning_server: Any
) -> None:
    """The delete files a real engine writes: DuckDB's iceberg extension, attached to the same
    catalog as the README shows, deletes rows of a v2 table as position delete files."""
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 6))
    table.append(batch(6, 6))
    duck, _ = run_sql("duckdb-bearer", local_replacements(planning_server))
    try:
        duck.execute(f"DELETE FROM lake.{space}.t WHERE id IN (1, 7, 8)")
    finally:
        duck.close()
    summary = client_planned.load_table(f"{space}.t").metadata.snapshots[-1].summary
    assert summary is not None and int(summary["total-position-deletes"]) == 3
    for row_filter in FILTERS:
        assert_same(server_planned, client_planned, f"{space}.t", row_filter=row_filter)
    assert {r["id"] for r in rows(server_planned, f"{space}.t")} == set(range(12)) - {1, 7, 8}
    assert [d for _, d in plan(server_planned, f"{space}.t") if d]  # the deletes were planned


def test_equality_deletes_reach_the_files_written_before_them_in_their_partition(
    client_planned: RestCatalog, space: str, api: httpx.Client
) -> None:
    """PyIceberg neither writes nor plans equality deletes: the file is written with pyarrow,
    committed over the REST API, and the plan is read as JSON."""
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 4))
    delete = equality_delete(table, pa.table({"id": pa.array([1], pa.int64())}), [1], 0, Record())
    table = commit_files(table, deletes=[delete])
    table.append(batch(4, 4))  # written after the delete: not affected by it
    answer = api.post(f"/namespaces/{space}/tables/t/plan", json={}).json()
    assert answer["status"] == "completed"
    assert answer["delete-files"] == [
        {
            "spec-id": 0,
            "partition": [],
            "content": "equality-deletes",
            "file-path": delete.file_path,
            "file-format": "parquet",
            "file-size-in-bytes": delete.file_size_in_bytes,
            "record-count": 1,
            "equality-ids": [1],
        }
    ]
    referenced = [t.get("delete-file-references") for t in answer["file-scan-tasks"]]
    assert sorted(referenced, key=str) == [None, [0]]


def test_time_travel_by_snapshot_and_by_tag(
    server_planned: RestCatalog, client_planned: RestCatalog, space: str
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 4))
    first = table.current_snapshot()
    assert first is not None
    table.manage_snapshots().create_tag(first.snapshot_id, "v1").commit()
    table.append(batch(4, 4))
    assert_same(server_planned, client_planned, f"{space}.t", snapshot_id=first.snapshot_id)
    tagged = server_planned.load_table(f"{space}.t").snapshot_by_name("v1")
    assert tagged is not None
    assert len(rows(server_planned, f"{space}.t", snapshot_id=tagged.snapshot_id)) == 4
    assert len(rows(server_planned, f"{space}.t")) == 8


def test_incremental_append_scan_plans_only_the_files_appended_in_the_range(
    client_planned: RestCatalog, space: str, api: httpx.Client
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    snapshots = []
    for start in (0, 4, 8, 12):
        table.append(batch(start, 4))
        current = table.current_snapshot()
        assert current is not None
        snapshots.append(current)
    expected = {
        entry.data_file.file_path
        for snapshot in snapshots[2:]
        for manifest in snapshot.manifests(table.io)
        if manifest.added_snapshot_id == snapshot.snapshot_id
        for entry in manifest.fetch_manifest_entry(table.io)
    }
    body = {
        "start-snapshot-id": snapshots[1].snapshot_id,
        "end-snapshot-id": snapshots[3].snapshot_id,
    }
    answer = api.post(f"/namespaces/{space}/tables/t/plan", json=body).json()
    planned = {t["data-file"]["file-path"] for t in answer["file-scan-tasks"]}
    assert planned == expected and len(planned) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"filter": {"type": "eq", "term": "no_such_column", "value": 1}}, 400),
        ({"filter": {"type": "lt", "term": "id", "value": "not a number"}}, 400),
        ({"filter": {"type": "bogus"}}, 400),
        ({"snapshot-id": 12345}, 400),
        ({"start-snapshot-id": 1}, 400),
        ({"select": ["nope"]}, 400),
        ({"stats-fields": ["nope"]}, 400),
    ],
)
def test_bad_scan_requests_are_refused_with_an_error_model(
    client_planned: RestCatalog, space: str, api: httpx.Client, body: dict[str, Any], status: int
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 2))
    answer = api.post(f"/namespaces/{space}/tables/t/plan", json=body)
    assert_error(answer, status, "BadRequestException")


def test_unknown_table_and_unknown_plan_are_404(space: str, api: httpx.Client) -> None:
    assert_error(
        api.post(f"/namespaces/{space}/tables/none/plan", json={}), 404, "NoSuchTableException"
    )


def test_vended_credentials_come_with_a_completed_plan_when_asked_for(
    client_planned: RestCatalog, space: str, api: httpx.Client
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 2))
    headers = {"X-Iceberg-Access-Delegation": "vended-credentials"}
    answer = api.post(f"/namespaces/{space}/tables/t/plan", json={}, headers=headers).json()
    (credential,) = answer["storage-credentials"]
    assert credential["prefix"].rstrip("/") == table.location().rstrip("/")
    assert (
        "storage-credentials" not in api.post(f"/namespaces/{space}/tables/t/plan", json={}).json()
    )


def test_use_snapshot_schema_binds_the_filter_to_the_schema_of_the_snapshot(
    client_planned: RestCatalog, space: str, api: httpx.Client
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 2))
    old = table.current_snapshot()
    assert old is not None
    with table.update_schema() as update:
        update.add_column("kind", StringType())
    on_new = {"type": "is-null", "term": "kind"}
    path = f"/namespaces/{space}/tables/t/plan"
    current = api.post(path, json={"snapshot-id": old.snapshot_id, "filter": on_new})
    assert current.status_code == 200 and len(current.json()["file-scan-tasks"]) == 1
    then = {"snapshot-id": old.snapshot_id, "filter": on_new, "use-snapshot-schema": True}
    assert_error(api.post(path, json=then), 400, "BadRequestException")


def test_stats_fields_bring_those_columns_statistics_in_the_spec_s_value_form(
    client_planned: RestCatalog, space: str, api: httpx.Client
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 3))
    body = {"stats-fields": ["day", "id"]}
    (task,) = api.post(f"/namespaces/{space}/tables/t/plan", json=body).json()["file-scan-tasks"]
    data_file = task["data-file"]
    assert data_file["lower-bounds"] == {"keys": [1, 3], "values": [0, "2024-01-01"]}
    assert data_file["upper-bounds"] == {"keys": [1, 3], "values": [2, "2024-01-03"]}
    assert data_file["null-value-counts"] == {"keys": [1, 3], "values": [0, 0]}
    (plain,) = api.post(f"/namespaces/{space}/tables/t/plan", json={}).json()["file-scan-tasks"]
    assert "lower-bounds" not in plain["data-file"]


def test_stats_of_a_column_dropped_since_the_snapshot_come_from_the_snapshot_s_schema(
    client_planned: RestCatalog, space: str, api: httpx.Client
) -> None:
    table = client_planned.create_table(f"{space}.t", schema=SCHEMA)
    table.append(batch(0, 3))
    old = table.current_snapshot()
    assert old is not None
    with table.update_schema() as update:
        update.delete_column("day")
    path = f"/namespaces/{space}/tables/t/plan"
    then = {"snapshot-id": old.snapshot_id, "use-snapshot-schema": True, "stats-fields": ["day"]}
    answer = api.post(path, json=then)
    assert answer.status_code == 200, answer.text
    (task,) = answer.json()["file-scan-tasks"]
    assert task["data-file"]["lower-bounds"] == {"keys": [3], "values": ["2024-01-01"]}
    # Against the current schema the column is unknown: a clear 400, not a guess.
    now = {"snapshot-id": old.snapshot_id, "stats-fields": ["day"]}
    assert_error(api.post(path, json=now), 400, "BadRequestException")
