"""Compaction through the engine, checked with PyIceberg over HTTP against a real server."""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DoubleType, LongType, NestedField, StringType

from catalog.maintenance.engine import run_job
from catalog.maintenance.jobs import JobKind, MaintenancePolicy, TableRef
from catalog.service.context import ServiceContext
from tests.maintenance.conftest import add_small_files, local, sorted_rows

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
    ]
)
SMALL = MaintenancePolicy(target_file_size_bytes=256 * 1024, small_file_threshold_bytes=64 * 1024)


def batch(start: int, count: int, region: str = "eu") -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table(
        {"id": ids, "region": [region] * count, "value": [i * 0.5 for i in ids]}, schema=SCHEMA
    )


def data_files(file_catalog: RestCatalog, identifier: str) -> list[str]:
    table = file_catalog.load_table(identifier)
    return sorted(task.file.file_path for task in table.scan().plan_files())


def test_500_small_files_compact_to_a_handful_with_every_row_kept(
    file_catalog: RestCatalog, file_namespace: str, context: ServiceContext
) -> None:
    table = file_catalog.create_table(f"{file_namespace}.events", schema=SCHEMA)
    add_small_files(table, [batch(i * 20, 20) for i in range(500)])
    table = file_catalog.load_table(f"{file_namespace}.events")
    before_snapshot = table.current_snapshot()
    assert before_snapshot is not None
    before_rows = sorted_rows(pa.concat_tables(batch(i * 20, 20) for i in range(500)))
    assert len(data_files(file_catalog, f"{file_namespace}.events")) == 500

    outcome = run_job(
        context, TableRef("default", (file_namespace,), "events"), JobKind.COMPACT, SMALL
    )

    after_files = data_files(file_catalog, f"{file_namespace}.events")
    assert outcome.files_before == 500
    assert outcome.files_after == len(after_files)
    assert 1 <= len(after_files) <= 10
    table = file_catalog.load_table(f"{file_namespace}.events")
    current = table.current_snapshot()
    assert current is not None and current.snapshot_id == outcome.committed_snapshot_id
    assert current.parent_snapshot_id == before_snapshot.snapshot_id
    assert current.summary is not None and current.summary.operation.value == "replace"
    assert current.summary["icefloe.maintenance"] == "compaction"
    assert sorted_rows(table.scan().to_arrow()) == before_rows
    # Time travel to the snapshot before compaction still reads the 500 original files.
    old = table.scan(snapshot_id=before_snapshot.snapshot_id)
    assert len(list(old.plan_files())) == 500
    assert sorted_rows(old.to_arrow()) == before_rows
    assert outcome.bytes_rewritten > 0


def test_partitions_are_compacted_separately(
    file_catalog: RestCatalog, file_namespace: str, context: ServiceContext
) -> None:
    iceberg_schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "region", StringType(), required=True),
        NestedField(3, "value", DoubleType(), required=False),
    )
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "region"))
    identifier = f"{file_namespace}.by_region"
    table = file_catalog.create_table(identifier, schema=iceberg_schema, partition_spec=spec)
    for region, files in (("eu", 6), ("us", 4), ("ap", 1)):
        for index in range(files):
            table.append(batch(index * 10 + {"eu": 0, "us": 1000, "ap": 2000}[region], 10, region))
    before_rows = sorted_rows(table.scan().to_arrow())
    lone_ap_file = [p for p in data_files(file_catalog, identifier) if "region=ap" in p]
    assert len(data_files(file_catalog, identifier)) == 11 and len(lone_ap_file) == 1

    outcome = run_job(
        context, TableRef("default", (file_namespace,), "by_region"), JobKind.COMPACT, SMALL
    )

    table = file_catalog.load_table(identifier)
    per_region: dict[str, list[str]] = {}
    for task in table.scan().plan_files():
        per_region.setdefault(str(task.file.partition[0]), []).append(task.file.file_path)
    assert {region: len(paths) for region, paths in per_region.items()} == {
        "eu": 1,
        "us": 1,
        "ap": 1,
    }
    assert per_region["ap"] == lone_ap_file  # a partition with one small file is left alone
    assert [b["files"] for b in sorted(outcome.details["bins"], key=lambda b: b["files"])] == [4, 6]
    for region in ("eu", "us"):
        rows = table.scan(row_filter=f"region == '{region}'").to_arrow()
        assert set(rows.column("region").to_pylist()) == {region}
    assert sorted_rows(table.scan().to_arrow()) == before_rows
    assert outcome.files_before == 11 and outcome.files_after == 3


def test_dry_run_plans_and_changes_nothing(
    file_catalog: RestCatalog, file_namespace: str, context: ServiceContext
) -> None:
    table = file_catalog.create_table(f"{file_namespace}.dry", schema=SCHEMA)
    add_small_files(table, [batch(i * 5, 5) for i in range(12)])
    table = file_catalog.load_table(f"{file_namespace}.dry")
    folder = local(table.location())
    listing = sorted(str(p) for p in folder.rglob("*"))
    ref = TableRef("default", (file_namespace,), "dry")

    outcome = run_job(context, ref, JobKind.COMPACT, SMALL, dry_run=True)

    assert outcome.files_before == 12 and outcome.files_after == 12
    assert outcome.committed_snapshot_id is None and outcome.bytes_rewritten == 0
    assert outcome.details["bins"][0]["files"] == 12
    assert outcome.details["estimated_files_after"] == 1
    assert (
        file_catalog.load_table(f"{file_namespace}.dry").metadata_location
        == table.metadata_location
    )
    assert sorted(str(p) for p in folder.rglob("*")) == listing
