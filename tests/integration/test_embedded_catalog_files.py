"""The catalog's own files on the embedded store: written and read in-process, not over HTTP.

When `serve` runs the embedded store (in its one process, or in each of its workers), a commit
writes its metadata file and reads the manifest lists it names directly in the store, with the
store's own rules. Nothing of that reaches the store's S3 port: its access log shows no request
under the root keys for a PyIceberg append. What is stored is what an S3 client reads back:
byte for byte the metadata the catalog serves, and described as a PutObject of the same bytes
would be (ETag, content type, checksum).

Where the catalog does reach a store over S3 (a warehouse with an S3 profile, here pointed at the
same embedded endpoint), a metadata file is one PutObject, never a multipart upload.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.server import CatalogServer

ROOT_KEY = "INPROCESSROOTKEY0001"
ROOT_SECRET = "in-process-root-secret-0123456789abcdef"
ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "city": ["Oslo", "Lima", "Pune"]})
_FIELD = re.compile(r"(\w+)=(\S+)")


@pytest.fixture(scope="module", params=[1, 2], ids=["one-process", "two-workers"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    """The embedded store served by the catalog's process, or by each of two workers."""
    started = CatalogServer(
        tmp_path_factory.mktemp("embedded-files"),
        storage="embedded",
        env={
            "ICEFLOE_LOG_LEVEL": "INFO",
            "ICEFLOE_WORKERS": str(request.param),
            "ICEFLOE_S3_ROOT_ACCESS_KEY_ID": ROOT_KEY,
            "ICEFLOE_S3_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        },
    ).start()
    yield started
    started.stop()


@pytest.fixture
def s3(server: CatalogServer) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.s3_url,
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        region_name="auto",
    )


def store_requests(server: CatalogServer, since: int) -> list[dict[str, str]]:
    """The embedded store's access log lines written since byte `since` of the server log."""
    lines = server.logged(since).splitlines()
    return [
        fields
        for fields in (dict(_FIELD.findall(line)) for line in lines)
        if fields.get("event") == "s3.request"
    ]


def root_operations(server: CatalogServer, since: int) -> Counter[str]:
    return Counter(
        fields["operation"]
        for fields in store_requests(server, since)
        if fields["access_key"] == ROOT_KEY
    )


def append_twice(catalog: RestCatalog) -> str:
    """A fresh table with two PyIceberg appends; returns its identifier."""
    namespace = f"in_{uuid.uuid4().hex[:10]}"
    catalog.create_namespace(namespace)
    table = catalog.create_table(f"{namespace}.cities", schema=ROWS.schema)
    table.append(ROWS)
    table.append(ROWS)
    return f"{namespace}.cities"


def split(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


def test_an_append_sends_nothing_to_the_store_under_the_root_keys(server: CatalogServer) -> None:
    catalog = RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)
    since = server.log_path.stat().st_size

    identifier = append_twice(catalog)

    assert catalog.load_table(identifier).scan().to_arrow().num_rows == 6
    clients = [r for r in store_requests(server, since) if r["access_key"] != ROOT_KEY]
    assert any(r["operation"] == "CompleteMultipartUpload" for r in clients)  # data files
    assert root_operations(server, since) == Counter()


def test_the_files_the_catalog_wrote_read_back_over_s3_byte_for_byte(
    server: CatalogServer, s3: Any
) -> None:
    catalog = RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)
    namespace, name = append_twice(catalog).split(".")
    loaded = httpx.get(
        f"{server.url}/v1/default/namespaces/{namespace}/tables/{name}",
        headers=server.auth_headers,
    )
    body = loaded.content
    current = loaded.json()["metadata-location"]
    history = [entry["metadata-file"] for entry in loaded.json()["metadata"]["metadata-log"]]
    assert len(history) == 2  # the create and the first append; the second is `current`

    bucket, key = split(current)
    stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert b'"metadata":' + stored + b',"config":' in body
    for location in history:
        bucket, key = split(location)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"{")

    as_stored = s3.head_object(Bucket=bucket, Key=split(current)[1], ChecksumMode="ENABLED")
    twin = f"{split(current)[1]}.put-by-boto3"
    s3.put_object(Bucket=bucket, Key=twin, Body=stored, ContentType="application/octet-stream")
    as_put = s3.head_object(Bucket=bucket, Key=twin, ChecksumMode="ENABLED")
    s3.delete_object(Bucket=bucket, Key=twin)
    assert as_stored["ETag"] == f'"{hashlib.md5(stored).hexdigest()}"' == as_put["ETag"]
    assert as_stored["ContentType"] == as_put["ContentType"] == "application/octet-stream"
    assert as_stored["ChecksumCRC32"] == as_put["ChecksumCRC32"]
    assert "PartsCount" not in as_stored


def test_over_s3_a_metadata_file_is_one_put_object(server: CatalogServer, s3: Any) -> None:
    bucket = f"over-s3-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    created = httpx.post(
        f"{server.url}/admin/v1/warehouses",
        headers=server.auth_headers,
        json={
            "name": bucket,
            "location": f"s3://{bucket}/warehouse",
            "storage": {
                "type": "s3",
                "endpoint": server.s3_url,
                "region": "auto",
                "path-style-access": True,
                "access-key-id": ROOT_KEY,
                "secret-access-key": ROOT_SECRET,
            },
        },
    )
    assert created.status_code == 201, created.text
    catalog = RestCatalog(
        "icefloe",
        uri=server.url,
        warehouse=bucket,
        token=server.token,
        **{
            "s3.endpoint": server.s3_url,
            "s3.access-key-id": ROOT_KEY,
            "s3.secret-access-key": ROOT_SECRET,
            "s3.region": "auto",
        },
    )
    namespace = f"over_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    table = catalog.create_table(f"{namespace}.cities", schema=ROWS.schema)
    table.append(ROWS)
    since = server.log_path.stat().st_size

    table.append(ROWS)

    # The client writes its files under the same keys; the catalog's own requests are the one
    # metadata file and the containment reads, each a single request.
    catalog_writes = [
        r
        for r in store_requests(server, since)
        if r["access_key"] == ROOT_KEY and r["key"].endswith(".metadata.json'")
    ]
    assert [r["operation"] for r in catalog_writes] == ["PutObject"]
    assert table.scan().to_arrow().num_rows == 6
