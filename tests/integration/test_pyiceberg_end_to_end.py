"""PyIceberg's RestCatalog against a real server: the life of a table, as a user lives it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchTableError,
    RESTError,
    TableAlreadyExistsError,
)
from pyiceberg.schema import Schema
from pyiceberg.table.update import AssertRefSnapshotId, SetPropertiesUpdate
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestampType
from pyiceberg.view.metadata import SQLViewRepresentation, ViewVersion

from tests.support.governance import lake, new_warehouse
from tests.support.server import CatalogServer

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "city": ["Oslo", "Lima", "Pune"]})


def files_under(location: str) -> list[Path]:
    root = Path(location.removeprefix("file://"))
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_nested_namespaces_are_created_listed_and_described(
    catalog: RestCatalog, namespace: str
) -> None:
    catalog.create_namespace((namespace, "child"), {"owner": "ana"})
    catalog.create_namespace((namespace, "child", "grandchild"))

    assert (namespace, "child") in catalog.list_namespaces(namespace)
    assert catalog.list_namespaces((namespace, "child")) == [(namespace, "child", "grandchild")]
    assert catalog.load_namespace_properties((namespace, "child")) == {"owner": "ana"}
    assert catalog.namespace_exists((namespace, "child", "grandchild"))
    with pytest.raises(NamespaceAlreadyExistsError):
        catalog.create_namespace((namespace, "child"))
    with pytest.raises(NamespaceNotEmptyError):
        catalog.drop_namespace(namespace)


def test_namespace_needs_its_parent(catalog: RestCatalog, namespace: str) -> None:
    # PyIceberg maps no 404 on create; the Java client maps it to NoSuchNamespaceException.
    with pytest.raises(RESTError, match="NoSuchNamespaceException"):
        catalog.create_namespace((namespace, "missing", "leaf"))


def test_append_overwrite_and_read_back(catalog: RestCatalog, namespace: str) -> None:
    table = catalog.create_table(f"{namespace}.cities", schema=ROWS.schema)
    table.append(ROWS)
    table.append(ROWS.slice(0, 1))
    assert catalog.load_table(f"{namespace}.cities").scan().to_arrow().num_rows == 4

    table.overwrite(pa.table({"id": pa.array([7], pa.int64()), "city": ["Quito"]}))
    reloaded = catalog.load_table(f"{namespace}.cities")
    assert reloaded.scan().to_arrow().to_pylist() == [{"id": 7, "city": "Quito"}]
    assert len(reloaded.snapshots()) >= 3


def test_time_travel_by_snapshot_id(catalog: RestCatalog, namespace: str) -> None:
    table = catalog.create_table(f"{namespace}.travel", schema=ROWS.schema)
    table.append(ROWS)
    first = table.current_snapshot()
    assert first is not None
    table.append(ROWS)
    table = catalog.load_table(f"{namespace}.travel")

    assert table.scan(snapshot_id=first.snapshot_id).to_arrow().num_rows == 3
    assert table.scan().to_arrow().num_rows == 6


def test_schema_evolution_keeps_old_rows_readable(catalog: RestCatalog, namespace: str) -> None:
    table = catalog.create_table(f"{namespace}.evolving", schema=ROWS.schema)
    table.append(ROWS)
    with table.update_schema() as update:
        update.add_column("population", LongType())
        update.rename_column("city", "name")
    table = catalog.load_table(f"{namespace}.evolving")
    table.append(
        pa.table(
            {
                "id": pa.array([4], pa.int64()),
                "name": ["Baku"],
                "population": pa.array([2_300_000], pa.int64()),
            }
        )
    )
    rows = catalog.load_table(f"{namespace}.evolving").scan().to_arrow().sort_by("id").to_pylist()
    assert rows[0] == {"id": 1, "name": "Oslo", "population": None}
    assert rows[-1] == {"id": 4, "name": "Baku", "population": 2_300_000}
    assert len(catalog.load_table(f"{namespace}.evolving").schemas()) == 2


def test_partition_evolution(catalog: RestCatalog, namespace: str) -> None:
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "at", TimestampType(), required=False),
        NestedField(3, "amount", DoubleType(), required=False),
    )
    table = catalog.create_table(f"{namespace}.events", schema=schema)
    with table.update_spec() as spec:
        spec.add_field("at", DayTransform(), "at_day")
    with table.update_spec() as spec:
        spec.add_identity("id")
    table = catalog.load_table(f"{namespace}.events")
    assert [f.transform for f in table.spec().fields] == [DayTransform(), IdentityTransform()]
    assert len(table.specs()) == 3


def test_rename_across_namespaces(catalog: RestCatalog, namespace: str) -> None:
    catalog.create_namespace((namespace, "archive"))
    table = catalog.create_table(f"{namespace}.live", schema=ROWS.schema)
    table.append(ROWS)

    catalog.rename_table(f"{namespace}.live", (namespace, "archive", "old"))

    assert not catalog.table_exists(f"{namespace}.live")
    assert catalog.load_table((namespace, "archive", "old")).scan().to_arrow().num_rows == 3
    catalog.create_table(f"{namespace}.live", schema=ROWS.schema)
    with pytest.raises(TableAlreadyExistsError):
        catalog.rename_table(f"{namespace}.live", (namespace, "archive", "old"))


def test_drop_with_purge_removes_files_where_the_trash_is_off(
    catalog_server: CatalogServer,
) -> None:
    """With a trash (the default), the files go when the drop leaves it: test_trash.py."""
    catalog = lake(catalog_server, new_warehouse(catalog_server, retention_seconds=0))
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.doomed", schema=ROWS.schema)
    table.append(ROWS)
    location = table.location()
    assert files_under(location)

    catalog.purge_table("ns.doomed")

    assert files_under(location) == []
    with pytest.raises(NoSuchTableError):
        catalog.load_table("ns.doomed")


def test_drop_without_purge_keeps_files_and_register_brings_table_back(
    catalog: RestCatalog, namespace: str
) -> None:
    table = catalog.create_table(f"{namespace}.kept", schema=ROWS.schema)
    table.append(ROWS)
    metadata_location = catalog.load_table(f"{namespace}.kept").metadata_location

    catalog.drop_table(f"{namespace}.kept")
    assert files_under(table.location())

    registered = catalog.register_table(f"{namespace}.back", metadata_location)
    assert registered.scan().to_arrow().num_rows == 3
    assert registered.metadata_location == metadata_location


def test_staged_create_commits_with_first_append(catalog: RestCatalog, namespace: str) -> None:
    transaction = catalog.create_table_transaction(f"{namespace}.staged", schema=ROWS.schema)
    assert not catalog.table_exists(f"{namespace}.staged")
    transaction.append(ROWS)
    transaction.commit_transaction()
    assert catalog.load_table(f"{namespace}.staged").scan().to_arrow().num_rows == 3


def test_multi_table_transaction_is_all_or_nothing(
    catalog: RestCatalog, namespace: str, http: httpx.Client
) -> None:
    left = catalog.create_table(f"{namespace}.left", schema=ROWS.schema)
    right = catalog.create_table(f"{namespace}.right", schema=ROWS.schema)
    left.append(ROWS)

    def change(
        table_name: str, requirement: dict[str, object] | None, value: str
    ) -> dict[str, object]:
        return {
            "identifier": {"namespace": [namespace], "name": table_name},
            "requirements": [requirement] if requirement else [],
            "updates": [SetPropertiesUpdate(updates={"batch": value}).model_dump(by_alias=True)],
        }

    stale = AssertRefSnapshotId(ref="main", snapshot_id=12345).model_dump(by_alias=True)
    refused = http.post(
        "/transactions/commit",
        json={"table-changes": [change("left", None, "1"), change("right", stale, "1")]},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "CommitFailedException"
    assert "batch" not in catalog.load_table(f"{namespace}.left").properties
    assert "batch" not in catalog.load_table(f"{namespace}.right").properties

    accepted = http.post(
        "/transactions/commit",
        json={"table-changes": [change("left", None, "2"), change("right", None, "2")]},
    )
    assert accepted.status_code == 204
    assert catalog.load_table(f"{namespace}.left").properties["batch"] == "2"
    assert catalog.load_table(f"{namespace}.right").properties["batch"] == "2"
    assert right.metadata_location != catalog.load_table(f"{namespace}.right").metadata_location


def test_views_are_created_listed_loaded_and_dropped(catalog: RestCatalog, namespace: str) -> None:
    schema = Schema(NestedField(1, "city", StringType(), required=False))
    version = ViewVersion(
        version_id=1,
        schema_id=0,
        timestamp_ms=1_700_000_000_000,
        summary={"engine-name": "pyiceberg"},
        representations=[
            SQLViewRepresentation(type="sql", sql="SELECT city FROM cities", dialect="spark")
        ],
        default_namespace=[namespace],
    )
    catalog.create_view(f"{namespace}.city_names", schema, version)

    assert catalog.list_views(namespace) == [(namespace, "city_names")]
    assert catalog.view_exists(f"{namespace}.city_names")
    view = catalog.load_view(f"{namespace}.city_names")
    assert view.metadata.current_version_id == 1
    assert view.metadata.versions[0].representations[0].root.sql == "SELECT city FROM cities"
    with pytest.raises(TableAlreadyExistsError):
        catalog.create_table(f"{namespace}.city_names", schema=ROWS.schema)

    catalog.drop_view(f"{namespace}.city_names")
    assert not catalog.view_exists(f"{namespace}.city_names")
