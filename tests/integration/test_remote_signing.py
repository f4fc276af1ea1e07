"""Remote signing: a PyIceberg session with no storage credentials at all reads and writes
through requests the catalog signs; requests outside the table are refused."""

from __future__ import annotations

import uuid

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.pyiceberg_signing import one_io_thread
from tests.support.server import CatalogServer
from tests.support.vended import s3_client

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
SIGNING = {"header.X-Iceberg-Access-Delegation": "remote-signing"}


@pytest.fixture
def signed_catalog(embedded_server: CatalogServer) -> RestCatalog:
    return RestCatalog(
        "signed",
        uri=embedded_server.url,
        warehouse="default",
        token=embedded_server.token,
        **SIGNING,
    )


def read_only_token(server: CatalogServer) -> str:
    with httpx.Client(base_url=server.url, headers=server.auth_headers) as admin:
        token: str = admin.post(
            "/admin/v1/tokens",
            json={"name": "r", "permission": "read-only", "warehouses": ["default"]},
        ).json()["token"]
    return token


def sign(
    server: CatalogServer, ns: str, table: str, method: str, uri: str, token: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/default/namespaces/{ns}/tables/{table}/sign",
        json={"region": "auto", "uri": uri, "method": method, "headers": {}},
        headers={"Authorization": f"Bearer {token or server.token}"},
    )


def test_pyiceberg_reads_and_writes_through_signed_requests(
    embedded_server: CatalogServer, signed_catalog: RestCatalog
) -> None:
    ns = f"s_{uuid.uuid4().hex[:8]}"
    signed_catalog.create_namespace(ns)
    table = signed_catalog.create_table(f"{ns}.t", schema=ROWS.schema)
    assert "s3.access-key-id" not in table.io.properties
    assert table.io.properties["s3.signer"] == "S3V4RestSigner"
    with one_io_thread():  # PyIceberg's own signing race: tests/support/pyiceberg_signing.py
        table.append(ROWS)
        reloaded = signed_catalog.load_table(f"{ns}.t")
        assert reloaded.scan().to_arrow().num_rows == 3
    assert "s3.secret-access-key" not in reloaded.io.properties


def test_signing_is_refused_outside_the_table_and_for_readers_writing(
    embedded_server: CatalogServer, signed_catalog: RestCatalog
) -> None:
    ns = f"s_{uuid.uuid4().hex[:8]}"
    signed_catalog.create_namespace(ns)
    one = signed_catalog.create_table(
        f"{ns}.tbl1", schema=ROWS.schema, location=f"s3://default/{ns}/tbl1"
    )
    signed_catalog.create_table(
        f"{ns}.tbl10", schema=ROWS.schema, location=f"s3://default/{ns}/tbl10"
    )
    base = f"{embedded_server.s3_url}/default/{ns}"
    assert (
        sign(embedded_server, ns, "tbl1", "GET", f"{base}/tbl1/data/x.parquet").status_code == 200
    )
    for method, uri in [
        ("GET", f"{base}/tbl10/data/x.parquet"),
        ("PUT", f"{base}/tbl10/data/x.parquet"),
        ("GET", f"{embedded_server.s3_url}/default?list-type=2&prefix={ns}/"),
        ("GET", f"{base}/tbl1/../tbl10/data/x.parquet"),
        ("DELETE", f"{embedded_server.s3_url}/default/other.bin"),
    ]:
        response = sign(embedded_server, ns, "tbl1", method, uri)
        assert response.status_code in (400, 403), (method, uri, response.text)

    reader = read_only_token(embedded_server)
    assert sign(embedded_server, ns, "tbl1", "GET", f"{base}/tbl1/x", reader).status_code == 200
    refused = sign(embedded_server, ns, "tbl1", "PUT", f"{base}/tbl1/data/x.parquet", reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "ForbiddenException"
    assert one.location().endswith("/tbl1")


def test_a_signed_request_is_accepted_by_the_store(
    embedded_server: CatalogServer, signed_catalog: RestCatalog
) -> None:
    ns = f"s_{uuid.uuid4().hex[:8]}"
    signed_catalog.create_namespace(ns)
    table = signed_catalog.create_table(f"{ns}.t", schema=ROWS.schema)
    key = table.location().removeprefix("s3://default/") + "/data/hello.txt"
    uri = f"{embedded_server.s3_url}/default/{key}"
    signed = sign(embedded_server, ns, "t", "PUT", uri).json()
    headers = {name: ", ".join(values) for name, values in signed["headers"].items()}
    put = httpx.put(signed["uri"], content=b"hi", headers=headers)
    assert put.status_code == 200, put.text
    credentials = httpx.get(
        f"{embedded_server.url}/v1/default/namespaces/{ns}/tables/t/credentials",
        headers=embedded_server.auth_headers,
    ).json()["storage-credentials"][0]["config"]
    body = s3_client(credentials).get_object(Bucket="default", Key=key)["Body"].read()
    assert body == b"hi"


def test_the_signer_protocol_route_finds_the_table_by_its_url(
    embedded_server: CatalogServer, signed_catalog: RestCatalog
) -> None:
    """/v1/aws/s3/sign (s3-signer-open-api.yaml) names no table; the URL decides which."""
    ns = f"s_{uuid.uuid4().hex[:8]}"
    signed_catalog.create_namespace(ns)
    table = signed_catalog.create_table(f"{ns}.t", schema=ROWS.schema)
    key = table.location().removeprefix("s3://default/") + "/data/legacy.txt"

    def legacy(method: str, uri: str, token: str | None = None) -> httpx.Response:
        return httpx.post(
            f"{embedded_server.url}/v1/aws/s3/sign",
            json={"region": "auto", "uri": uri, "method": method, "headers": {}},
            headers={"Authorization": f"Bearer {token or embedded_server.token}"},
        )

    signed = legacy("PUT", f"{embedded_server.s3_url}/default/{key}")
    assert signed.status_code == 200, signed.text
    headers = {name: ", ".join(values) for name, values in signed.json()["headers"].items()}
    put = httpx.put(f"{embedded_server.s3_url}/default/{key}", content=b"x", headers=headers)
    assert put.status_code == 200, put.text
    outside = legacy("GET", f"{embedded_server.s3_url}/default/{ns}/nothing-here/x")
    assert outside.status_code == 403
    reader = read_only_token(embedded_server)
    assert legacy("GET", f"{embedded_server.s3_url}/default/{key}", reader).status_code == 200
    assert legacy("PUT", f"{embedded_server.s3_url}/default/{key}", reader).status_code == 403
