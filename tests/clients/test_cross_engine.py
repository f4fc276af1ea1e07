"""One table, two engines: what PyIceberg writes DuckDB reads as the same rows, and the other
way round, for every common Iceberg type and nulls; DuckDB's row-level deletes and updates read
the same in PyIceberg. Both engines go through the catalog with vended credentials.

Rows are compared as sorted Python values, read from both engines through Arrow. The one
normalisation: a timestamptz comes back from DuckDB in its session time zone (the machine's),
from PyIceberg in UTC; both are turned to UTC, so the comparison is of instants in one zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.engines import arrow_rows

SCHEMA = pa.schema(
    [
        ("i", pa.int32()),
        ("l", pa.int64()),
        ("f", pa.float32()),
        ("d", pa.float64()),
        ("dec", pa.decimal128(10, 2)),
        ("s", pa.string()),
        ("dt", pa.date32()),
        ("ts", pa.timestamp("us")),
        ("tstz", pa.timestamp("us", tz="UTC")),
        ("b", pa.bool_()),
        ("bin", pa.binary()),
        ("lst", pa.list_(pa.int64())),
        ("st", pa.struct([("x", pa.int64()), ("y", pa.string())])),
        ("m", pa.map_(pa.string(), pa.int64())),
    ]
)
ROWS: list[dict[str, Any]] = [
    {
        "i": 1,
        "l": 2**40,
        "f": 0.25,
        "d": 1.5,
        "dec": Decimal("12.34"),
        "s": "héllo, wörld",
        "dt": date(2024, 2, 29),
        "ts": datetime(2024, 1, 2, 3, 4, 5, 6),
        "tstz": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "b": True,
        "bin": b"\x00\xff",
        "lst": [1, 2, None],
        "st": {"x": 1, "y": "a"},
        "m": [("k", 1)],
    },
    {
        "i": 2,
        "l": -(2**63),
        "f": -1.0,
        "d": -0.0,
        "dec": Decimal("-99999999.99"),
        "s": "",
        "dt": date(1970, 1, 1),
        "ts": datetime(1969, 12, 31, 23, 59, 59, 999999),
        "tstz": datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
        "b": False,
        "bin": b"",
        "lst": [],
        "st": {"x": None, "y": None},
        "m": [],
    },
    {name: None for name in SCHEMA.names} | {"i": 3},
]
DUCKDB_DDL = (
    "i INTEGER, l BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(10, 2), s VARCHAR, dt DATE, "
    "ts TIMESTAMP, tstz TIMESTAMPTZ, b BOOLEAN, bin BLOB, lst BIGINT[], "
    "st STRUCT(x BIGINT, y VARCHAR), m MAP(VARCHAR, BIGINT)"
)
DUCKDB_VALUES = """
    (1, 1099511627776, 0.25, 1.5, 12.34, 'héllo, wörld', DATE '2024-02-29',
     TIMESTAMP '2024-01-02 03:04:05.000006', TIMESTAMPTZ '2024-01-02 03:04:05.000006+00',
     true, '\\x00\\xFF'::BLOB, [1, 2, NULL], {'x': 1, 'y': 'a'}, MAP {'k': 1}),
    (2, -9223372036854775808, -1.0, -0.0, -99999999.99, '', DATE '1970-01-01',
     TIMESTAMP '1969-12-31 23:59:59.999999', TIMESTAMPTZ '2038-01-19 03:14:08+00',
     false, ''::BLOB, [], {'x': NULL, 'y': NULL}, MAP {}),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
"""


def normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def value(item: Any) -> Any:
        if isinstance(item, datetime) and item.tzinfo is not None:
            return item.astimezone(UTC)
        return item

    return sorted(
        ({key: value(item) for key, item in row.items()} for row in rows), key=lambda r: r["i"]
    )


def test_what_pyiceberg_writes_duckdb_reads_identically(
    pyiceberg: RestCatalog, lake: duckdb.DuckDBPyConnection, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.types", schema=SCHEMA)
    table.append(pa.Table.from_pylist(ROWS, schema=SCHEMA))

    assert normalised(arrow_rows(lake, f"SELECT * FROM lake.{ns}.types")) == normalised(ROWS)
    described = {row[0]: row[1] for row in lake.execute(f"DESCRIBE lake.{ns}.types").fetchall()}
    assert described["tstz"] == "TIMESTAMP WITH TIME ZONE"
    assert described["dec"] == "DECIMAL(10,2)"
    assert described["m"] == "MAP(VARCHAR, BIGINT)"


def test_what_duckdb_writes_pyiceberg_reads_identically(
    pyiceberg: RestCatalog, lake: duckdb.DuckDBPyConnection, ns: str
) -> None:
    lake.execute(f"CREATE TABLE lake.{ns}.types ({DUCKDB_DDL})")
    lake.execute(f"INSERT INTO lake.{ns}.types VALUES {DUCKDB_VALUES}")

    table = pyiceberg.load_table(f"{ns}.types")
    assert str(table.schema().find_type("tstz")) == "timestamptz"
    assert str(table.schema().find_type("ts")) == "timestamp"
    assert normalised(table.scan().to_arrow().to_pylist()) == normalised(ROWS)
    # and DuckDB reads its own write back the same way
    assert normalised(arrow_rows(lake, f"SELECT * FROM lake.{ns}.types")) == normalised(ROWS)


def test_both_engines_append_to_one_table_and_agree(
    pyiceberg: RestCatalog, lake: duckdb.DuckDBPyConnection, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.types", schema=SCHEMA)
    table.append(pa.Table.from_pylist(ROWS[:1], schema=SCHEMA))
    lake.execute(f"INSERT INTO lake.{ns}.types VALUES {DUCKDB_VALUES.split('),', 1)[1]}")

    from_pyiceberg = pyiceberg.load_table(f"{ns}.types").scan().to_arrow().to_pylist()
    from_duckdb = arrow_rows(lake, f"SELECT * FROM lake.{ns}.types")
    assert normalised(from_pyiceberg) == normalised(from_duckdb) == normalised(ROWS)


@pytest.mark.parametrize("partitioned", [False, True], ids=["unpartitioned", "by-identity"])
def test_duckdb_updates_and_deletes_read_the_same_in_pyiceberg(
    pyiceberg: RestCatalog, lake: duckdb.DuckDBPyConnection, ns: str, partitioned: bool
) -> None:
    schema = pa.schema([("id", pa.int64()), ("city", pa.string()), ("km", pa.float64())])
    table = pyiceberg.create_table(f"{ns}.trips", schema=schema)
    if partitioned:
        with table.update_spec() as spec:
            spec.add_identity("city")
    table = pyiceberg.load_table(f"{ns}.trips")
    table.append(
        pa.table(
            {"id": [1, 2, 3, 4], "city": ["Oslo", "Lima", "Oslo", "Pune"], "km": [1.0, 2, 3, 4]},
            schema=schema,
        )
    )

    assert lake.execute(f"DELETE FROM lake.{ns}.trips WHERE city = 'Oslo' AND km > 2").fetchall()
    lake.execute(f"UPDATE lake.{ns}.trips SET km = km * 10 WHERE city = 'Lima'")
    table.refresh().append(pa.table({"id": [5], "city": ["Lima"], "km": [5.0]}, schema=schema))

    expected = [
        {"id": 1, "city": "Oslo", "km": 1.0},
        {"id": 2, "city": "Lima", "km": 20.0},
        {"id": 4, "city": "Pune", "km": 4.0},
        {"id": 5, "city": "Lima", "km": 5.0},
    ]

    def by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda row: row["id"])

    assert by_id(pyiceberg.load_table(f"{ns}.trips").scan().to_arrow().to_pylist()) == expected
    assert by_id(arrow_rows(lake, f"SELECT * FROM lake.{ns}.trips")) == expected
    summary = pyiceberg.load_table(f"{ns}.trips").metadata.snapshots[-2].summary
    assert summary is not None and int(summary["total-position-deletes"]) >= 2
