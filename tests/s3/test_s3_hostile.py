"""Hostile and malformed input gets a 4xx S3 error, never a 5xx."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s3_harness import Endpoint


def md5_header(body: bytes) -> dict[str, str]:
    return {"content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Delete><Object><Key>&lol3;</Key></Object></Delete>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&x;</Key></Object></Delete>"""


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<Delete>",
        b"<Delete></Delete>",
        b"<Wrong><Object><Key>k</Key></Object></Wrong>",
        b"<Delete><Object></Object></Delete>",
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
        b"<Delete>" + b"<a>" * 100_000 + b"</Delete>",
        b"<Delete><Object><Key>" + b"x" * (3 * 1024 * 1024) + b"</Key></Object></Delete>",
        b"\xff\xfe<\x00D\x00",
    ],
    ids=lambda b: f"{len(b)}-bytes",
)
def test_bad_delete_objects_bodies_are_4xx(s3: Endpoint, bucket: str, body: bytes) -> None:
    resp = s3.raw().request(
        "POST", f"/{bucket}", query=[("delete", "")], body=body, headers=md5_header(body)
    )
    assert 400 <= resp.status < 500, resp
    assert resp.code in ("MalformedXML", "EntityTooLarge", "InvalidArgument")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<CompleteMultipartUpload/>",
        b"<CompleteMultipartUpload><Part><PartNumber>abc</PartNumber><ETag>x</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>x</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
        BILLION_LAUGHS.replace(b"Delete", b"CompleteMultipartUpload"),
        b"<CompleteMultipartUpload>"
        + b"<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>" * 100_000
        + b"</CompleteMultipartUpload>",
    ],
    ids=lambda b: f"{len(b)}-bytes",
)
def test_bad_complete_multipart_bodies_are_4xx(s3: Endpoint, bucket: str, body: bytes) -> None:
    uid = s3.client().create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    resp = s3.raw().request("POST", f"/{bucket}/mp", query=[("uploadId", uid)], body=body)
    assert 400 <= resp.status < 500, resp


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=2000) | st.text(max_size=500).map(lambda t: t.encode()))
def test_fuzzed_xml_bodies_never_5xx(s3: Endpoint, body: bytes) -> None:
    raw = s3.raw()
    resp = raw.request("POST", "/fuzz-bucket-hostile", query=[("delete", "")], body=body)
    assert resp.status < 500, resp


@pytest.fixture(scope="module", autouse=True)
def _fuzz_bucket(s3: Endpoint) -> None:
    with contextlib.suppress(Exception):
        s3.client().create_bucket(Bucket="fuzz-bucket-hostile")


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=99999999999999999999-",
        "bytes=--1",
        "bytes=",
        "bytes=-0",
        "=",
        "bytes=1-2-3",
        "bytes=0-0,-1",
        "bytes=" + "9" * 5000,
    ],
)
def test_odd_ranges_are_never_5xx(s3: Endpoint, bucket: str, header: str) -> None:
    s3.client().put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    resp = s3.raw().request("GET", f"/{bucket}/r", headers={"range": header})
    assert resp.status in (200, 206, 416), resp


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ([("list-type", "2"), ("max-keys", "abc")], "InvalidArgument"),
        ([("list-type", "2"), ("max-keys", "-1")], "InvalidArgument"),
        ([("list-type", "2"), ("continuation-token", "!!!")], "InvalidArgument"),
        ([("list-type", "2"), ("continuation-token", "")], "InvalidArgument"),
        ([("list-type", "2"), ("encoding-type", "base64")], "InvalidArgument"),
        ([("max-keys", "1e3")], "InvalidArgument"),
        ([("uploads", ""), ("max-uploads", "x")], "InvalidArgument"),
    ],
)
def test_bad_list_parameters_are_400(
    s3: Endpoint, bucket: str, query: list[tuple[str, str]], code: str
) -> None:
    resp = s3.raw().request("GET", f"/{bucket}", query=query)
    assert (resp.status, resp.code) == (400, code)


def test_huge_max_keys_is_capped(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().request("GET", f"/{bucket}", query=[("list-type", "2"), ("max-keys", "9" * 30)])
    assert resp.status == 200 and b"<MaxKeys>1000</MaxKeys>" in resp.body


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", "/{b}/%ff%fe", (400, "InvalidURI")),
        ("GET", "/{b}/%c3%28", (400, "InvalidURI")),
        ("PUT", "/{b}/nul%00byte", (400, "InvalidURI")),
        ("PUT", "/{b}/" + "k" * 1025, (400, "KeyTooLongError")),
        ("PUT", "/{b}/" + "%C3%A9" * 513, (400, "KeyTooLongError")),
        ("GET", "/..%2F..%2Fetc/passwd", (404, "NoSuchBucket")),
        ("GET", "/%2e%2e/x", (404, "NoSuchBucket")),
        ("PUT", "/%2e%2e", (400, "InvalidBucketName")),
        ("PATCH", "/{b}/k", (405, "MethodNotAllowed")),
        ("POST", "/{b}/k", (405, "MethodNotAllowed")),
    ],
)
def test_bad_targets(
    s3: Endpoint, bucket: str, method: str, path: str, expected: tuple[int, str]
) -> None:
    resp = s3.raw().request(
        method, path.replace("{b}", bucket), body=b"x" if method == "PUT" else b""
    )
    assert (resp.status, resp.code) == expected


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"x-amz-copy-source": "%ff%fe/x"}, 400),
        ({"x-amz-copy-source": "justbucket"}, 400),
        ({"x-amz-copy-source": "/Bad_Bucket/k"}, 400),
        ({"x-amz-copy-source": "/no-such-bucket-x/k"}, 404),
        ({"x-amz-copy-source": "/b/k?versionId=123"}, 501),
        ({"x-amz-metadata-directive": "DESTROY", "x-amz-copy-source": "/{b}/src"}, 400),
    ],
)
def test_bad_copy_sources(s3: Endpoint, bucket: str, headers: dict[str, str], status: int) -> None:
    s3.client().put_object(Bucket=bucket, Key="src", Body=b"s")
    headers = {k: v.replace("{b}", bucket) for k, v in headers.items()}
    resp = s3.raw().request("PUT", f"/{bucket}/dst", headers=headers)
    assert resp.status == status, resp


@pytest.mark.parametrize(
    "query",
    [
        [("partNumber", "0"), ("uploadId", "UPLOAD")],
        [("partNumber", "10001"), ("uploadId", "UPLOAD")],
        [("partNumber", "x"), ("uploadId", "UPLOAD")],
        [("partNumber", "1"), ("uploadId", "../../etc")],
        [("partNumber", "1"), ("uploadId", "")],
    ],
)
def test_bad_upload_part_parameters(
    s3: Endpoint, bucket: str, query: list[tuple[str, str]]
) -> None:
    uid = s3.client().create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    query = [(k, v.replace("UPLOAD", uid)) for k, v in query]
    resp = s3.raw().request("PUT", f"/{bucket}/mp", query=query, body=b"x")
    assert 400 <= resp.status < 500, resp


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.update({"x-amz-content-sha256": "not-a-hash"}),
        lambda h: h.update({"x-amz-date": "yesterday"}),
        lambda h: h.pop("x-amz-content-sha256"),
        lambda h: h.update({"authorization": "AWS4-HMAC-SHA256 garbage"}),
        lambda h: h.update({"authorization": "Bearer xyz"}),
        lambda h: h.update({"x-amz-security-token": "v1.!!!.!!!"}),
        lambda h: h.update({"x-amz-security-token": "x" * 10000}),
    ],
)
def test_bad_auth_headers_are_4xx(s3: Endpoint, bucket: str, mutate: Any) -> None:
    resp = s3.raw().request("PUT", f"/{bucket}/a", body=b"x", mutate=mutate)
    assert 400 <= resp.status < 500, resp
    assert s3.raw().request("HEAD", f"/{bucket}/a").status == 404


@pytest.mark.parametrize(
    "body",
    [
        b"zz;chunk-signature=00\r\n",
        b"5\r\nabc",
        b"3\r\nabcdef\r\n0\r\n\r\n",
        b"\r\n" * 10,
        b"x" * 10000,
    ],
)
def test_malformed_aws_chunked_bodies_are_4xx(s3: Endpoint, bucket: str, body: bytes) -> None:
    resp = s3.raw().request(
        "PUT",
        f"/{bucket}/ch",
        body=body,
        payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        headers={"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "3"},
    )
    assert 400 <= resp.status < 500, resp
    assert s3.raw().request("HEAD", f"/{bucket}/ch").status == 404


def test_object_larger_than_the_limit_is_entity_too_large(s3: Endpoint, bucket: str) -> None:
    assert s3.app is not None
    limit = s3.app.config.max_object_size
    resp = s3.raw().send(
        "PUT",
        f"/{bucket}/huge",
        [],
        {
            **s3.raw().sign(
                "PUT",
                f"/{bucket}/huge",
                [],
                {"content-length": str(limit + 1)},
                "UNSIGNED-PAYLOAD",
                __import__("datetime").datetime.now(__import__("datetime").UTC),
            )[0],
            "expect": "100-continue",
        },
        b"",
    )
    assert (resp.status, resp.code) == (400, "EntityTooLarge")


def test_unsupported_subresources_are_not_implemented(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().request("GET", f"/{bucket}", query=[("acl", "")])
    assert (resp.status, resp.code) == (501, "NotImplemented")
