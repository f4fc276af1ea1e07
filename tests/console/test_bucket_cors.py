"""CORS on the embedded store, as R2 answers it: per-bucket rules (PutBucketCors,
GetBucketCors, DeleteBucketCors), preflights answered by those rules (403 when none matches),
CORS headers on the actual responses, and a default rule that lets the console's origin PUT
an upload into the bucket `serve` created."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from pyiceberg.catalog.rest import RestCatalog

from storage.s3.rootkeys import load_or_create_root_credentials
from tests.console.support import parquet_bytes, put, slot
from tests.console.test_uploads import PRICES, ROWS, table_path
from tests.support.server import CatalogServer

RULES: dict[str, Any] = {
    "CORSRules": [
        {
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
}


def root_s3(server: CatalogServer) -> Any:
    root = load_or_create_root_credentials(server.data_dir / "objects", None, None)
    return boto3.client(
        "s3",
        endpoint_url=server.s3_url,
        aws_access_key_id=root.access_key_id,
        aws_secret_access_key=root.secret_access_key,
        region_name="auto",
    )


@pytest.fixture
def bucket(embedded_server: CatalogServer) -> Iterator[str]:
    """A bucket of its own, so rules set here change no other test's bucket."""
    s3 = root_s3(embedded_server)
    name = f"cors-{id(s3):x}"
    s3.create_bucket(Bucket=name)
    yield name
    s3.delete_bucket(Bucket=name)


def preflight(
    server: CatalogServer, path: str, origin: str, method: str, headers: str = ""
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return httpx.options(f"{server.s3_url}/{path}", headers=request_headers)


def test_bucket_cors_rules_are_stored_read_back_and_deleted(
    embedded_server: CatalogServer, bucket: str
) -> None:
    s3 = root_s3(embedded_server)
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_cors(Bucket=bucket)
    assert missing.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"

    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)

    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES["CORSRules"]
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (
            {"AllowedOrigins": ["https://a.example/path"], "AllowedMethods": ["GET"]},
            "InvalidArgument",
        ),
        ({"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["PATCH"]}, "InvalidArgument"),
        (
            {
                "AllowedOrigins": ["https://a.example"],
                "AllowedMethods": ["GET"],
                "AllowedHeaders": [""],
            },
            "InvalidArgument",
        ),
    ],
    ids=["origin-with-path", "unknown-method", "empty-header"],
)
def test_invalid_cors_rules_are_refused(
    embedded_server: CatalogServer, bucket: str, rule: dict[str, Any], code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        root_s3(embedded_server).put_bucket_cors(
            Bucket=bucket, CORSConfiguration={"CORSRules": [rule]}
        )
    assert refused.value.response["Error"]["Code"] == code


def test_a_preflight_is_answered_by_the_bucket_rules_and_refused_when_none_matches(
    embedded_server: CatalogServer, bucket: str
) -> None:
    assert (
        preflight(embedded_server, f"{bucket}/k", "https://app.example.com", "PUT").status_code
        == 403
    )
    root_s3(embedded_server).put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)

    allowed = preflight(
        embedded_server,
        f"{bucket}/k",
        "https://app.example.com",
        "PUT",
        "Content-Type, X-Amz-Meta-A",
    )

    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-methods"] == "GET, PUT"
    assert allowed.headers["access-control-allow-headers"] == "content-type, x-amz-meta-a"
    assert allowed.headers["access-control-max-age"] == "600"
    for origin, method, headers in (
        ("https://evil.example.com", "PUT", "content-type"),
        ("https://app.example.com", "DELETE", ""),
        ("https://app.example.com", "PUT", "authorization"),
    ):
        refused = preflight(embedded_server, f"{bucket}/k", origin, method, headers)
        assert refused.status_code == 403, (origin, method, headers)
        assert "<Code>AccessForbidden</Code>" in refused.text
        assert "access-control-allow-origin" not in refused.headers


def test_the_actual_response_carries_cors_headers_only_for_an_allowed_origin(
    embedded_server: CatalogServer, bucket: str
) -> None:
    s3 = root_s3(embedded_server)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})

    allowed = httpx.get(url, headers={"Origin": "https://app.example.com"})
    other = httpx.get(url, headers={"Origin": "https://evil.example.com"})
    plain = httpx.get(url)

    assert allowed.status_code == other.status_code == plain.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-expose-headers"] == "ETag"
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in plain.headers
    s3.delete_object(Bucket=bucket, Key="k")


def test_the_console_origin_may_put_an_upload_into_the_bucket_serve_created(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.browser", schema=PRICES)
    data = parquet_bytes(ROWS)
    made = slot(embedded_server, table_path(ns, "browser"), data)
    path = made["url"].split("?", 1)[0].split("/", 3)[3]
    console = embedded_server.url

    ok = preflight(embedded_server, path, console, "PUT", "content-type")
    stored = put(made, data, Origin=console)

    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == console
    assert stored.status_code == 200, stored.text
    assert stored.headers["access-control-allow-origin"] == console
    assert preflight(embedded_server, path, "http://elsewhere:1", "PUT").status_code == 403
    assert table.location().startswith("s3://")
