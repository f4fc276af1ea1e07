"""The object API behaviour suite, run with boto3 in every configuration clients use."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_harness import Endpoint

VARIANTS = [
    ("path", "when_supported"),
    ("path", "when_required"),
    ("virtual", "when_supported"),
    ("virtual", "when_required"),
]


@pytest.fixture(params=VARIANTS, ids=[f"{a}-{c}" for a, c in VARIANTS])
def client(request: pytest.FixtureRequest, s3: Endpoint) -> Any:
    addressing, checksum = request.param
    return s3.client(addressing=addressing, checksum=checksum)


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_put_get_roundtrip_keeps_bytes_type_and_metadata(client: Any, bucket: str) -> None:
    data = b"iceberg data \x00\xff" * 1000
    put = client.put_object(
        Bucket=bucket,
        Key="ns/tbl/data/00000-0.parquet",
        Body=data,
        ContentType="application/vnd.apache.parquet",
        Metadata={"writer": "icefloe", "Mixed-Case": "v"},
        CacheControl="no-cache",
    )
    assert put["ETag"] == md5(data)
    got = client.get_object(Bucket=bucket, Key="ns/tbl/data/00000-0.parquet")
    assert got["Body"].read() == data
    assert got["ETag"] == md5(data)
    assert got["ContentType"] == "application/vnd.apache.parquet"
    assert got["ContentLength"] == len(data)
    assert got["Metadata"] == {"writer": "icefloe", "mixed-case": "v"}
    assert got["CacheControl"] == "no-cache"
    assert "x-amz-request-id" in got["ResponseMetadata"]["HTTPHeaders"]


def test_head_object_reports_size_etag_and_last_modified(client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="k", Body=b"12345")
    head = client.head_object(Bucket=bucket, Key="k")
    assert head["ContentLength"] == 5
    assert head["ETag"] == md5(b"12345")
    assert abs(head["LastModified"] - datetime.now(UTC)) < timedelta(minutes=1)
    assert head["ContentType"] == "binary/octet-stream"


def test_missing_key_and_bucket_are_404_with_s3_codes(client: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="missing")
    assert error_of(exc) == (404, "NoSuchKey")
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="missing")
    assert error_of(exc) == (404, "404")
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket="no-such-bucket-here", Key="k")
    assert error_of(exc) == (404, "NoSuchBucket")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    assert error_of(exc) == (404, "NoSuchBucket")


def test_overwrite_replaces_content_atomically(client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="k", Body=b"first")
    client.put_object(Bucket=bucket, Key="k", Body=b"second version")
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second version"


def test_empty_object(client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = client.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == md5(b"")


@pytest.mark.parametrize(
    ("range_header", "expected", "status"),
    [
        ("bytes=0-3", b"0123", 206),
        ("bytes=5-", b"56789", 206),
        ("bytes=-3", b"789", 206),
        ("bytes=8-100", b"89", 206),
        ("bytes=3-1", b"0123456789", 200),
        ("bytes=0-1,3-4", b"0123456789", 200),
        ("items=0-1", b"0123456789", 200),
    ],
)
def test_ranges(s3: Endpoint, bucket: str, range_header: str, expected: bytes, status: int) -> None:
    client = s3.client()
    client.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    got = client.get_object(Bucket=bucket, Key="digits", Range=range_header)
    assert got["Body"].read() == expected
    assert got["ResponseMetadata"]["HTTPStatusCode"] == status
    if status == 206:
        assert got["ContentRange"].endswith("/10")


def test_unsatisfiable_range_is_416_invalid_range(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    client.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="digits", Range="bytes=10-")
    assert error_of(exc) == (416, "InvalidRange")


def test_conditional_get(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    etag = client.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    assert client.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert error_of(exc) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    future = datetime.now(UTC) + timedelta(hours=1)
    past = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="k", IfModifiedSince=future)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert client.get_object(Bucket=bucket, Key="k", IfModifiedSince=past)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="k", IfUnmodifiedSince=past)
    assert error_of(exc) == (412, "PreconditionFailed")
    # A passing If-Match overrides a failing If-Unmodified-Since (S3's rule).
    got = client.get_object(Bucket=bucket, Key="k", IfMatch=etag, IfUnmodifiedSince=past)
    assert got["Body"].read() == b"v1"


def test_conditional_put_if_none_match_star(client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="once", Body=b"a", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="once", Body=b"b", IfNoneMatch="*")
    assert error_of(exc) == (412, "PreconditionFailed")
    assert client.get_object(Bucket=bucket, Key="once")["Body"].read() == b"a"


def test_conditional_put_if_match_is_compare_and_swap(client: Any, bucket: str) -> None:
    etag = client.put_object(Bucket=bucket, Key="ptr", Body=b"v1")["ETag"]
    etag2 = client.put_object(Bucket=bucket, Key="ptr", Body=b"v2", IfMatch=etag)["ETag"]
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="ptr", Body=b"v3", IfMatch=etag)
    assert error_of(exc) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="absent", Body=b"v3", IfMatch=etag)
    assert error_of(exc)[0] in (404, 412)
    got = client.get_object(Bucket=bucket, Key="ptr")
    assert got["Body"].read() == b"v2"
    assert got["ETag"] == etag2


def test_content_md5_is_checked(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    import base64

    good = base64.b64encode(hashlib.md5(b"body").digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert (
        raw.request("PUT", f"/{bucket}/ok", body=b"body", headers={"content-md5": good}).status
        == 200
    )
    resp = raw.request("PUT", f"/{bucket}/bad", body=b"body", headers={"content-md5": bad})
    assert (resp.status, resp.code) == (400, "BadDigest")
    resp = raw.request("PUT", f"/{bucket}/bad", body=b"body", headers={"content-md5": "zz"})
    assert (resp.status, resp.code) == (400, "InvalidDigest")
    assert raw.request("HEAD", f"/{bucket}/bad").status == 404


def test_delete_object_and_delete_objects(client: Any, bucket: str) -> None:
    for i in range(5):
        client.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    assert (
        client.delete_object(Bucket=bucket, Key="d/0")["ResponseMetadata"]["HTTPStatusCode"] == 204
    )
    assert (
        client.delete_object(Bucket=bucket, Key="d/0")["ResponseMetadata"]["HTTPStatusCode"] == 204
    )
    result = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "d/1"}, {"Key": "d/2"}, {"Key": "nope"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["d/1", "d/2", "nope"]
    listed = client.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["d/3", "d/4"]
    quiet = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "d/3"}], "Quiet": True}
    )
    assert "Deleted" not in quiet


def test_copy_object_copy_replace_and_self_copy(client: Any, bucket: str, new_bucket: Any) -> None:
    client.put_object(
        Bucket=bucket, Key="src", Body=b"payload", ContentType="text/plain", Metadata={"a": "1"}
    )
    copied = client.copy_object(
        Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}
    )
    assert copied["CopyObjectResult"]["ETag"] == md5(b"payload")
    head = client.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"a": "1"}
    client.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="application/json",
    )
    head = client.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "application/json" and head["Metadata"] == {"b": "2"}
    other = new_bucket()
    client.copy_object(Bucket=other, Key="x/y", CopySource=f"{bucket}/src")
    assert client.get_object(Bucket=other, Key="x/y")["Body"].read() == b"payload"
    with pytest.raises(ClientError) as exc:
        client.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert error_of(exc) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as exc:
        client.copy_object(Bucket=bucket, Key="z", CopySource={"Bucket": bucket, "Key": "none"})
    assert error_of(exc) == (404, "NoSuchKey")
    # Deleting the source leaves the copy intact (copies share no mutable state).
    client.delete_object(Bucket=bucket, Key="src")
    assert client.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"payload"


def test_copy_source_preconditions(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    etag = client.put_object(Bucket=bucket, Key="src", Body=b"p")["ETag"]
    client.copy_object(Bucket=bucket, Key="d1", CopySource=f"{bucket}/src", CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as exc:
        client.copy_object(
            Bucket=bucket, Key="d2", CopySource=f"{bucket}/src", CopySourceIfMatch='"nope"'
        )
    assert error_of(exc) == (412, "PreconditionFailed")


def test_keys_with_odd_characters_roundtrip_and_list(client: Any, bucket: str) -> None:
    keys = [
        "a b/c+d=e&f?g#h",
        "unicodé/ключ/鍵",
        "dots/../x",
        "trailing/",
        "a",
        "a/b",
        "percent%2Fkey",
        "tab\tnewline\n",
        "x" * 1000,
    ]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def test_key_too_long(s3: Endpoint, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.client().put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_of(exc) == (400, "KeyTooLongError")


def test_list_v2_prefix_delimiter_and_pagination(client: Any, bucket: str) -> None:
    keys = [f"dir{d}/file{f:02d}" for d in range(3) for f in range(4)] + ["root1", "root2"]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    top = client.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir0/", "dir1/", "dir2/"]
    assert [o["Key"] for o in top["Contents"]] == ["root1", "root2"]
    assert top["KeyCount"] == 5
    one = client.list_objects_v2(Bucket=bucket, Prefix="dir1/")
    assert [o["Key"] for o in one["Contents"]] == [f"dir1/file{f:02d}" for f in range(4)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 5}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        pages += 1
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys) and pages == 3
    after = client.list_objects_v2(Bucket=bucket, StartAfter="dir2/file03")
    assert [o["Key"] for o in after["Contents"]] == ["root1", "root2"]
    paged_prefixes: list[str] = []
    token = None
    while True:
        kwargs = {"Bucket": bucket, "MaxKeys": 2, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        paged_prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        paged_prefixes += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert paged_prefixes == ["dir0/", "dir1/", "dir2/", "root1", "root2"]


def test_paginator_and_list_v1_markers(client: Any, bucket: str) -> None:
    keys = [f"k{i:03d}" for i in range(25)]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    pages = client.get_paginator("list_objects").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 10}
    )
    assert [o["Key"] for page in pages for o in page["Contents"]] == keys
    v1 = client.list_objects(Bucket=bucket, Marker="k020")
    assert [o["Key"] for o in v1["Contents"]] == keys[21:]


def test_list_objects_url_encoding(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    s3.client().put_object(Bucket=bucket, Key="a b+c/d", Body=b"")
    resp = raw.request("GET", f"/{bucket}", query=[("list-type", "2"), ("encoding-type", "url")])
    assert resp.status == 200
    assert b"<Key>a%20b%2Bc/d</Key>" in resp.body
    resp = raw.request("GET", f"/{bucket}", query=[("list-type", "2")])
    assert b"<Key>a b+c/d</Key>" in resp.body


def test_bucket_lifecycle(s3: Endpoint) -> None:
    client = s3.client()
    name = f"life-{int(time.time() * 1000)}"
    client.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert client.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client.get_bucket_location(Bucket=name)["LocationConstraint"] == "auto"
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket=name)
    assert error_of(exc) == (409, "BucketAlreadyOwnedByYou")
    client.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        client.delete_bucket(Bucket=name)
    assert error_of(exc) == (409, "BucketNotEmpty")
    client.delete_object(Bucket=name, Key="k")
    client.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        client.head_bucket(Bucket=name)
    assert error_of(exc) == (404, "404")
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket="Bad_Name")
    assert error_of(exc)[0] == 400


def test_multipart_upload_roundtrip(client: Any, bucket: str) -> None:
    part1 = b"a" * (5 * 1024 * 1024)
    part2 = b"b" * 1234
    upload = client.create_multipart_upload(
        Bucket=bucket, Key="mp", ContentType="text/x", Metadata={"m": "1"}
    )
    uid = upload["UploadId"]
    listed = client.list_multipart_uploads(Bucket=bucket)
    assert [u["UploadId"] for u in listed["Uploads"]] == [uid]
    e1 = client.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = client.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    parts = client.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [
        (1, e1, len(part1)),
        (2, e2, len(part2)),
    ]
    done = client.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    expected = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert done["ETag"] == f'"{expected}-2"'
    got = client.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == part1 + part2
    assert got["ContentType"] == "text/x" and got["Metadata"] == {"m": "1"}
    ranged = client.get_object(
        Bucket=bucket, Key="mp", Range=f"bytes={len(part1) - 2}-{len(part1) + 1}"
    )
    assert ranged["Body"].read() == b"aabb"
    part = client.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert part["Body"].read() == part2 and part["PartsCount"] == 2
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_multipart_errors(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    uid = client.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    e1 = client.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"small")[
        "ETag"
    ]
    e2 = client.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=b"small")[
        "ETag"
    ]
    with pytest.raises(ClientError) as exc:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=uid,
            MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]
            },
        )
    assert error_of(exc) == (400, "EntityTooSmall")
    with pytest.raises(ClientError) as exc:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"deadbeef"'}]},
        )
    assert error_of(exc) == (400, "InvalidPart")
    with pytest.raises(ClientError) as exc:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=uid,
            MultipartUpload={
                "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]
            },
        )
    assert error_of(exc) == (400, "InvalidPartOrder")
    client.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]},
    )
    assert client.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"small"
    with pytest.raises(ClientError) as exc:
        client.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=3, Body=b"x")
    assert error_of(exc) == (404, "NoSuchUpload")
    uid2 = client.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    client.upload_part(Bucket=bucket, Key="gone", UploadId=uid2, PartNumber=1, Body=b"x")
    client.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=uid2)
    with pytest.raises(ClientError) as exc:
        client.list_parts(Bucket=bucket, Key="gone", UploadId=uid2)
    assert error_of(exc) == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="gone")
    assert error_of(exc)[0] == 404


def test_upload_part_copy(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    source = bytes(range(256)) * 1000
    client.put_object(Bucket=bucket, Key="src", Body=source)
    uid = client.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    part = client.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange="bytes=100-199",
    )
    etag = part["CopyPartResult"]["ETag"]
    client.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert client.get_object(Bucket=bucket, Key="dst")["Body"].read() == source[100:200]


def test_upload_fileobj_uses_multipart_transfer(client: Any, bucket: str) -> None:
    import io

    from boto3.s3.transfer import TransferConfig

    data = bytes(range(256)) * (48 * 1024)  # 12 MiB
    config = TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    client.upload_fileobj(io.BytesIO(data), bucket, "transfer/big.bin", Config=config)
    head = client.head_object(Bucket=bucket, Key="transfer/big.bin")
    assert head["ETag"].endswith('-3"')
    out = io.BytesIO()
    client.download_fileobj(bucket, "transfer/big.bin", out, Config=config)
    assert out.getvalue() == data


def test_request_id_header_on_errors(s3: Endpoint) -> None:
    resp = s3.raw().request("GET", "/no-such-bucket-zzz/key")
    assert resp.status == 404 and resp.code == "NoSuchBucket"
    assert len(resp.headers["x-amz-request-id"]) == 16
    assert resp.headers["x-amz-request-id"].encode() in resp.body
