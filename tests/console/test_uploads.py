"""Loading a file from a browser or a script (issue 14): an upload slot is a presigned PUT for
one exact key, size and type; committing it checks the file against the table and appends it
in one commit, or refuses with a reason a person can act on and leaves nothing behind."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DecimalType, IntegerType, LongType, NestedField, StringType

from tests.console.support import (
    CSV,
    console,
    parquet_bytes,
    put,
    slot,
    staged_keys,
    upload,
)
from tests.support.error_model import assert_error
from tests.support.server import CatalogServer

PRICES = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "item", StringType(), required=False),
    NestedField(3, "price", DecimalType(10, 2), required=False),
)
ROWS = pa.table(
    {
        "id": pa.array([1, 2], pa.int32()),  # int may become long
        "item": ["tea", "milk"],
        "price": pa.array([Decimal("1.50"), Decimal("0.99")], pa.decimal128(10, 2)),
    }
)


def table_path(ns: str, name: str) -> str:
    return f"namespaces/{ns}/tables/{name}"


def test_a_parquet_file_uploaded_through_its_slot_is_appended_in_one_commit(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.prices", schema=PRICES)

    answer = upload(embedded_server, table_path(ns, "prices"), parquet_bytes(ROWS))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    table = pyiceberg.load_table(f"{ns}.prices")
    assert body == {
        "rows-added": 2,
        "data-files-added": 1,
        "snapshot-id": table.current_snapshot().snapshot_id,
        "table-row-count": 2,
    }
    assert len(table.snapshots()) == 1
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "item": "tea", "price": Decimal("1.50")},
        {"id": 2, "item": "milk", "price": Decimal("0.99")},
    ]
    assert staged_keys(embedded_server, table.location()) == []


def test_an_upload_into_a_partitioned_table_writes_one_file_per_partition(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "item"))
    pyiceberg.create_table(f"{ns}.parted", schema=PRICES, partition_spec=spec)

    answer = upload(embedded_server, table_path(ns, "parted"), parquet_bytes(ROWS))

    assert answer.status_code == 200, answer.text
    assert (answer.json()["rows-added"], answer.json()["data-files-added"]) == (2, 2)
    files = pyiceberg.load_table(f"{ns}.parted").inspect.files().to_pylist()
    assert sorted(f["partition"]["item"] for f in files) == ["milk", "tea"]


def test_a_csv_file_is_appended_with_its_inferred_types_cast_to_the_table(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    schema = Schema(
        NestedField(1, "id", IntegerType(), required=True),
        NestedField(2, "item", StringType(), required=False),
    )
    pyiceberg.create_table(f"{ns}.items", schema=schema)
    csv = b"id,item\n7,bread\n8,\n"

    answer = upload(embedded_server, table_path(ns, "items"), csv, CSV)

    assert answer.status_code == 200, answer.text
    assert answer.json()["rows-added"] == 2
    rows = pyiceberg.load_table(f"{ns}.items").scan().to_arrow().to_pylist()
    assert sorted(rows, key=lambda r: r["id"]) == [
        {"id": 7, "item": "bread"},
        {"id": 8, "item": None},
    ]


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            pa.table({"id": pa.array([1], pa.int64()), "price": ["1.50"]}),
            "column `price`: string cannot become decimal(10, 2)",
        ),
        (pa.table({"item": ["tea"]}), "required column `id` is missing"),
        (pa.table({"id": [1], "Item": ["tea"]}), "column `Item` is not in the table"),
        (
            pa.table({"id": [1], "price": pa.array([1.5], pa.float64())}),
            "column `price`: double cannot become decimal(10, 2)",
        ),
    ],
    ids=["string-to-decimal", "required-missing", "name-case", "double-to-decimal"],
)
def test_an_incompatible_file_is_refused_with_a_reason_and_leaves_no_snapshot_and_no_file(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str, rows: pa.Table, reason: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.strict", schema=PRICES)

    answer = upload(embedded_server, table_path(ns, "strict"), parquet_bytes(rows))

    assert_error(answer, 400, "BadRequestException")
    assert reason in answer.json()["error"]["message"]
    after = pyiceberg.load_table(f"{ns}.strict")
    assert after.metadata_location == table.metadata_location
    assert after.snapshots() == []
    assert staged_keys(embedded_server, table.location()) == []


@pytest.mark.parametrize(
    ("csv", "reason"),
    [
        (b"id,price\n1,cheap\n", "column `price`: string cannot become decimal(10, 2)"),
        (b"id,price\n1,1.505\n", "column `price`: double cannot become decimal(10, 2)"),
        (b"id,price\n1,1.00\n,2.00\n", "column `id` is required but has 1 nulls"),
    ],
    ids=["text-to-decimal", "more-digits-than-the-scale", "null-in-required"],
)
def test_a_csv_value_that_would_change_in_the_cast_is_refused(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str, csv: bytes, reason: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.from_csv", schema=PRICES)

    answer = upload(embedded_server, table_path(ns, "from_csv"), csv, CSV)

    assert_error(answer, 400, "BadRequestException")
    assert reason in answer.json()["error"]["message"]
    assert pyiceberg.load_table(f"{ns}.from_csv").snapshots() == []
    assert staged_keys(embedded_server, table.location()) == []


def test_a_long_column_cannot_become_an_int_column(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    schema = Schema(NestedField(1, "n", IntegerType(), required=False))
    pyiceberg.create_table(f"{ns}.narrow", schema=schema)
    rows = pa.table({"n": pa.array([1], pa.int64())})

    answer = upload(embedded_server, table_path(ns, "narrow"), parquet_bytes(rows))

    assert_error(answer, 400, "BadRequestException")
    assert "column `n`: int64 cannot become int" in answer.json()["error"]["message"]


def test_a_file_that_is_not_what_its_slot_said_is_refused_and_deleted(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.junk", schema=PRICES)

    answer = upload(embedded_server, table_path(ns, "junk"), b"not parquet at all")

    assert_error(answer, 400, "BadRequestException")
    assert "not readable as Parquet" in answer.json()["error"]["message"]
    assert staged_keys(embedded_server, table.location()) == []


# --- the presigned URL cannot be misused ---------------------------------------------------


def s3_error(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/xml"), response.text
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


@pytest.fixture
def prepared(embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str) -> tuple[str, bytes]:
    table = pyiceberg.create_table(f"{ns}.target", schema=PRICES)
    return table.location(), parquet_bytes(ROWS)


def test_the_url_cannot_put_another_key(
    embedded_server: CatalogServer, ns: str, prepared: tuple[str, bytes]
) -> None:
    location, data = prepared
    made = slot(embedded_server, table_path(ns, "target"), data)
    other = made["url"].replace("/prices.parquet?", "/other.parquet?")

    refused = httpx.put(other, content=data, headers=made["headers"])

    assert refused.status_code == 403
    assert s3_error(refused) == "SignatureDoesNotMatch"
    assert staged_keys(embedded_server, location) == []


def test_the_url_cannot_put_a_larger_or_smaller_body(
    embedded_server: CatalogServer, ns: str, prepared: tuple[str, bytes]
) -> None:
    location, data = prepared
    made = slot(embedded_server, table_path(ns, "target"), data)

    for body in (data + b"x" * 1024, data[:-1]):
        refused = put(made, body)
        assert refused.status_code == 403, refused.text
        assert s3_error(refused) == "SignatureDoesNotMatch"
    assert staged_keys(embedded_server, location) == []
    assert made["max-bytes"] == len(data)


def test_the_url_cannot_put_another_content_type(
    embedded_server: CatalogServer, ns: str, prepared: tuple[str, bytes]
) -> None:
    location, data = prepared
    made = slot(embedded_server, table_path(ns, "target"), data)

    refused = put(made, data, **{"Content-Type": "text/html"})

    assert refused.status_code == 403
    assert s3_error(refused) == "SignatureDoesNotMatch"
    assert staged_keys(embedded_server, location) == []


def test_the_url_cannot_be_used_for_a_get_or_a_delete(
    embedded_server: CatalogServer, ns: str, prepared: tuple[str, bytes]
) -> None:
    _, data = prepared
    made = slot(embedded_server, table_path(ns, "target"), data)
    assert put(made, data).status_code == 200

    for method in ("GET", "DELETE"):
        refused = httpx.request(method, made["url"], headers=made["headers"])
        assert refused.status_code == 403, (method, refused.text)


def test_a_slot_of_one_table_cannot_be_committed_into_another(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_table(f"{ns}.a", schema=PRICES)
    other = pyiceberg.create_table(f"{ns}.b", schema=PRICES)
    data = parquet_bytes(ROWS)
    made = slot(embedded_server, table_path(ns, "a"), data)
    assert put(made, data).status_code == 200

    with console(embedded_server) as client:
        refused = client.post(f"/{table_path(ns, 'b')}/uploads/{made['upload-id']}/commit")
        assert_error(refused, 400, "BadRequestException")
        assert "another table" in refused.json()["error"]["message"]
        assert pyiceberg.load_table(f"{ns}.b").metadata_location == other.metadata_location
        # the file is still A's to commit
        landed = client.post(f"/{table_path(ns, 'a')}/uploads/{made['upload-id']}/commit")
        assert landed.status_code == 200, landed.text


def test_a_tampered_upload_id_is_refused(
    embedded_server: CatalogServer, ns: str, prepared: tuple[str, bytes]
) -> None:
    _, data = prepared
    made = slot(embedded_server, table_path(ns, "target"), data)
    body, _, mac = made["upload-id"].partition(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac

    with console(embedded_server) as client:
        refused = client.post(f"/{table_path(ns, 'target')}/uploads/{forged}/commit")

    assert_error(refused, 400, "BadRequestException")


def test_a_read_only_token_gets_no_upload_slot(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_table(f"{ns}.guarded", schema=PRICES)
    made = httpx.post(
        f"{embedded_server.url}/admin/v1/tokens",
        json={"name": "reader", "permission": "read-only", "warehouses": ["default"]},
        headers=embedded_server.auth_headers,
    )
    assert made.status_code == 201, made.text
    reader = made.json()["token"]
    with console(embedded_server, reader) as client:
        refused = client.post(
            f"/{table_path(ns, 'guarded')}/uploads",
            json={"file-name": "a.csv", "content-type": CSV, "content-length": 10},
        )
        assert_error(refused, 403, "ForbiddenException")
        preview = client.get(f"/{table_path(ns, 'guarded')}/preview")
        assert preview.status_code == 200, preview.text


def test_a_slot_asks_for_a_known_type_and_a_size_within_the_limit(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_table(f"{ns}.limits", schema=PRICES)
    with console(embedded_server) as client:
        for content_type, length in (("text/html", 10), (CSV, 0), (CSV, 10**12)):
            refused = client.post(
                f"/{table_path(ns, 'limits')}/uploads",
                json={"file-name": "a", "content-type": content_type, "content-length": length},
            )
            assert_error(refused, 400, "BadRequestException")


def test_a_file_name_becomes_one_harmless_key_segment(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.names", schema=PRICES)
    made = slot(embedded_server, table_path(ns, "names"), b"a,b\n", CSV, "../../x/<img>%2e.csv")

    prefix = table.location().removeprefix("s3://").partition("/")[2] + "/staging/uploads/"
    assert made["key"].startswith(prefix)
    assert made["key"].rsplit("/", 1)[1] == "img_2e.csv"


def test_an_expired_url_and_slot_are_refused_and_the_staged_file_deleted(tmp_path: Path) -> None:
    server = CatalogServer(tmp_path, storage="embedded", env={"ICEFLOE_UPLOAD_EXPIRY": "PT2S"})
    server.start()
    try:
        lake = RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)
        lake.create_namespace("n")
        table = lake.create_table("n.t", schema=PRICES)
        data = parquet_bytes(ROWS)
        in_time = slot(server, table_path("n", "t"), data)
        assert put(in_time, data).status_code == 200
        late = slot(server, table_path("n", "t"), data)
        time.sleep(3.2)

        refused = put(late, data)

        assert refused.status_code == 403
        assert "expired" in refused.text
        with console(server) as client:
            too_late = client.post(f"/{table_path('n', 't')}/uploads/{in_time['upload-id']}/commit")
        assert_error(too_late, 400, "BadRequestException")
        assert "expired" in too_late.json()["error"]["message"]
        assert staged_keys(server, table.location()) == []
        assert lake.load_table("n.t").snapshots() == []
    finally:
        server.stop()


# --- create a table from a file --------------------------------------------------------------


def test_a_table_is_created_from_an_uploaded_csv_file(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    csv = b"city,population,area\nOslo,709037,454.0\nLima,9751000,2672.3\n"
    made = slot(embedded_server, f"namespaces/{ns}", csv, CSV, "cities.csv")
    assert put(made, csv).status_code == 200

    with console(embedded_server) as client:
        created = client.post(
            f"/namespaces/{ns}/uploads/{made['upload-id']}/create-table", json={"name": "cities"}
        )

    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["table"], body["rows-added"]) == ("cities", 2)
    assert [(f["name"], f["type"]) for f in body["schema"]["fields"]] == [
        ("city", "string"),
        ("population", "long"),
        ("area", "double"),
    ]
    rows = pyiceberg.load_table(f"{ns}.cities").scan().to_arrow().to_pylist()
    assert sorted(r["city"] for r in rows) == ["Lima", "Oslo"]


# --- preview ----------------------------------------------------------------------------------


def test_the_preview_shows_the_first_rows_bounded_by_the_limit(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.seen", schema=PRICES)
    with console(embedded_server) as client:
        empty = client.get(f"/{table_path(ns, 'seen')}/preview").json()
        assert empty == {
            "columns": [
                {"name": "id", "type": "long"},
                {"name": "item", "type": "string"},
                {"name": "price", "type": "decimal(10, 2)"},
            ],
            "rows": [],
            "truncated": False,
            "snapshot-id": None,
        }
        table.append(
            pa.Table.from_pylist(
                [{"id": i, "item": f"i{i}", "price": Decimal("1.00")} for i in range(5)],
                schema=table.schema().as_arrow(),
            )
        )

        one = client.get(f"/{table_path(ns, 'seen')}/preview", params={"limit": 2}).json()
        assert one["truncated"] is True
        assert len(one["rows"]) == 2
        assert (
            one["snapshot-id"] == pyiceberg.load_table(f"{ns}.seen").current_snapshot().snapshot_id
        )
        assert one["rows"][0][2] == "1.00"
        every = client.get(f"/{table_path(ns, 'seen')}/preview").json()
        assert (len(every["rows"]), every["truncated"]) == (5, False)
        too_many = client.get(f"/{table_path(ns, 'seen')}/preview", params={"limit": 501})
        assert_error(too_many, 400, "BadRequestException")
