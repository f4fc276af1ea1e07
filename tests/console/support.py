"""The console's upload calls as a script makes them: slot, PUT, commit."""

from __future__ import annotations

import io
from typing import Any

import boto3
import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from storage.s3.rootkeys import load_or_create_root_credentials
from tests.support.server import CatalogServer

PARQUET = "application/vnd.apache.parquet"
CSV = "text/csv"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def console(server: CatalogServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or server.token}"}
    return httpx.Client(
        base_url=f"{server.url}/admin/v1/warehouses/default", headers=headers, timeout=60
    )


def slot(
    server: CatalogServer,
    path: str,
    data: bytes,
    content_type: str = PARQUET,
    name: str = "prices.parquet",
) -> dict[str, Any]:
    """An upload slot under `path` (`namespaces/<ns>/tables/<t>` or `namespaces/<ns>`)."""
    with console(server) as client:
        answer = client.post(
            f"/{path}/uploads",
            json={"file-name": name, "content-type": content_type, "content-length": len(data)},
        )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def put(upload: dict[str, Any], data: bytes, **headers: str) -> httpx.Response:
    """What the browser does: PUT the file to the presigned URL with the slot's headers."""
    return httpx.put(upload["url"], content=data, headers={**upload["headers"], **headers})


def upload(
    server: CatalogServer, table_path: str, data: bytes, content_type: str = PARQUET
) -> httpx.Response:
    """Slot, PUT, commit: the whole load of one file into a table."""
    made = slot(server, table_path, data, content_type)
    stored = put(made, data)
    assert stored.status_code == 200, stored.text
    with console(server) as client:
        return client.post(f"/{table_path}/uploads/{made['upload-id']}/commit")


def staged_keys(server: CatalogServer, table_location: str) -> list[str]:
    """Every object under the table's staging prefix, listed as the store's root."""
    root = load_or_create_root_credentials(server.data_dir / "objects", None, None)
    s3 = boto3.client(
        "s3",
        endpoint_url=server.s3_url,
        aws_access_key_id=root.access_key_id,
        aws_secret_access_key=root.secret_access_key,
        region_name="auto",
    )
    bucket, _, prefix = table_location.removeprefix("s3://").partition("/")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/staging/")
    return [item["Key"] for item in listed.get("Contents", [])]
