"""SigV4 verification: every tampered or malformed request is refused, and writes nothing."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_harness import Endpoint
from s3_raw import crc32_b64, sha256_b64

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def absent(s3: Endpoint, bucket: str, key: str) -> bool:
    return s3.raw().request("HEAD", f"/{bucket}/{key}").status == 404


def content(s3: Endpoint, bucket: str, key: str) -> bytes:
    resp = s3.raw().request("GET", f"/{bucket}/{key}")
    assert resp.status == 200, resp
    return resp.body


def _crc32c(data: bytes) -> bytes:
    """Bit-by-bit CRC32C, independent of the server's table-driven one."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return (crc ^ 0xFFFFFFFF).to_bytes(4, "big")


def _crc64nvme(data: bytes) -> bytes:
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x9A6C9329AC4BC9B5 if crc & 1 else crc >> 1
    return (crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


# --- header signatures ------------------------------------------------------------------


def test_anonymous_requests_are_access_denied(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    resp = raw.request("PUT", f"/{bucket}/anon", body=b"x", signed=False)
    assert (resp.status, resp.code) == (403, "AccessDenied")
    resp = raw.request("GET", f"/{bucket}", signed=False)
    assert (resp.status, resp.code) == (403, "AccessDenied")
    assert absent(s3, bucket, "anon")


def test_tampered_signature_is_refused_and_nothing_written(s3: Endpoint, bucket: str) -> None:
    def flip(headers: dict[str, str]) -> None:
        auth = headers["authorization"]
        headers["authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")

    resp = s3.raw().request("PUT", f"/{bucket}/t", body=b"evil", mutate=flip)
    assert (resp.status, resp.code) == (403, "SignatureDoesNotMatch")
    assert absent(s3, bucket, "t")


def test_the_access_line_names_why_a_request_was_refused(
    s3: Endpoint, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused HEAD has no body: the client sees only `403 Forbidden`, the log says why."""

    def flip(headers: dict[str, str]) -> None:
        auth = headers["authorization"]
        headers["authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")

    with caplog.at_level("INFO", logger="icefloe.s3"):
        assert s3.raw().request("HEAD", f"/{bucket}/k", mutate=flip).status == 403
        assert s3.raw().request("HEAD", f"/{bucket}/k").status == 404
    lines = [r.getMessage() for r in caplog.records if "event=s3.request" in r.getMessage()]
    assert [line.split(" error=")[1].split()[0] for line in lines[-2:]] == [
        "SignatureDoesNotMatch",
        "NoSuchKey",
    ]
    assert caplog.records[-2].s3["error"] == "SignatureDoesNotMatch"  # type: ignore[attr-defined]


def test_wrong_secret_and_unknown_key(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw(secret_key="not-the-secret").request("PUT", f"/{bucket}/w", body=b"x")
    assert (resp.status, resp.code) == (403, "SignatureDoesNotMatch")
    resp = s3.raw(access_key="AKIDUNKNOWN").request("PUT", f"/{bucket}/w", body=b"x")
    assert (resp.status, resp.code) == (403, "InvalidAccessKeyId")
    assert absent(s3, bucket, "w")


def test_signed_header_changed_after_signing(s3: Endpoint, bucket: str) -> None:
    def retarget(headers: dict[str, str]) -> None:
        headers["x-amz-meta-role"] = "admin"

    def sign_with_meta_then_change(headers: dict[str, str]) -> None:
        headers["x-amz-meta-a"] = "changed"

    resp = s3.raw().request(
        "PUT",
        f"/{bucket}/h",
        body=b"x",
        headers={"x-amz-meta-a": "orig"},
        mutate=sign_with_meta_then_change,
    )
    assert (resp.status, resp.code) == (403, "SignatureDoesNotMatch")
    assert absent(s3, bucket, "h")
    del retarget


def test_query_added_after_signing_is_refused(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    headers, _, _ = raw.sign(
        "GET", f"/{bucket}", [], {}, hashlib.sha256(b"").hexdigest(), datetime.now(UTC)
    )
    resp = raw.send("GET", f"/{bucket}", [("prefix", "x")], headers, b"")
    assert (resp.status, resp.code) == (403, "SignatureDoesNotMatch")


def test_payload_hash_mismatch_is_refused_and_nothing_written(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().request(
        "PUT",
        f"/{bucket}/p",
        body=b"tampered body",
        payload_hash=hashlib.sha256(b"original body").hexdigest(),
    )
    assert (resp.status, resp.code) == (400, "XAmzContentSHA256Mismatch")
    assert absent(s3, bucket, "p")


def test_unsigned_payload_is_accepted(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().request("PUT", f"/{bucket}/u", body=b"free", payload_hash="UNSIGNED-PAYLOAD")
    assert resp.status == 200
    assert content(s3, bucket, "u") == b"free"


@pytest.mark.parametrize("region", ["auto", "us-east-1"])
def test_r2_regions_are_accepted(s3: Endpoint, bucket: str, region: str) -> None:
    client = s3.client(region=region)
    client.put_object(Bucket=bucket, Key=f"r-{region}", Body=b"x")
    assert client.get_object(Bucket=bucket, Key=f"r-{region}")["Body"].read() == b"x"


def test_wrong_region_or_service_is_refused(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    raw.region = "eu-west-1"
    resp = raw.request("PUT", f"/{bucket}/reg", body=b"x")
    assert (resp.status, resp.code) == (400, "AuthorizationHeaderMalformed")
    raw = s3.raw()
    raw.service = "iam"
    resp = raw.request("PUT", f"/{bucket}/reg", body=b"x")
    assert (resp.status, resp.code) == (400, "AuthorizationHeaderMalformed")
    with pytest.raises(ClientError) as exc:
        s3.client(region="eu-central-1").put_object(Bucket=bucket, Key="reg", Body=b"x")
    assert exc.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    assert absent(s3, bucket, "reg")


def test_clock_skew_over_15_minutes_is_refused(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    old = datetime.now(UTC) - timedelta(minutes=16)
    resp = raw.request("PUT", f"/{bucket}/skew", body=b"x", when=old)
    assert (resp.status, resp.code) == (403, "RequestTimeTooSkewed")
    future = datetime.now(UTC) + timedelta(minutes=16)
    resp = raw.request("PUT", f"/{bucket}/skew", body=b"x", when=future)
    assert (resp.status, resp.code) == (403, "RequestTimeTooSkewed")
    ok = raw.request(
        "PUT", f"/{bucket}/skew", body=b"x", when=datetime.now(UTC) - timedelta(minutes=10)
    )
    assert ok.status == 200


def test_sigv2_is_not_supported(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().send("GET", f"/{bucket}/k", [], {"authorization": "AWS AKID:c2lnbmF0dXJl"}, b"")
    assert (resp.status, resp.code) == (400, "InvalidRequest")


def test_malformed_authorization_header(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().send(
        "GET",
        f"/{bucket}/k",
        [],
        {
            "authorization": "AWS4-HMAC-SHA256 Credential=bad",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        },
        b"",
    )
    assert (resp.status, resp.code) == (400, "AuthorizationHeaderMalformed")


def test_virtual_host_style_raw(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    host = f"{bucket}.localhost:{s3.port}"
    resp = raw.request("PUT", "/vh/key", body=b"vh", headers={"host": host})
    assert resp.status == 200
    assert content(s3, bucket, "vh/key") == b"vh"
    listed = raw.request("GET", "/", query=[("list-type", "2")], headers={"host": host})
    assert b"<Key>vh/key</Key>" in listed.body


# --- presigned URLs ---------------------------------------------------------------------


def _fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_presigned_get_and_put(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "pre/k"}, ExpiresIn=60
    )
    assert _fetch(put_url, "PUT", b"presigned!")[0] == 200
    get_url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "pre/k"}, ExpiresIn=60
    )
    assert _fetch(get_url) == (200, b"presigned!")
    tampered = get_url.replace("pre/k", "pre/other")
    status, body = _fetch(tampered)
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_presigned_url_after_expiry_is_refused(s3: Endpoint, bucket: str) -> None:
    s3.client().put_object(Bucket=bucket, Key="exp", Body=b"x")
    raw = s3.raw()
    path, query = raw.presign(
        "GET", f"/{bucket}/exp", expires=60, when=datetime.now(UTC) - timedelta(seconds=120)
    )
    resp = raw.send("GET", path, query, {}, b"")
    assert (resp.status, resp.code) == (403, "AccessDenied")
    assert b"expired" in resp.body
    path, query = raw.presign(
        "PUT", f"/{bucket}/exp2", expires=1, when=datetime.now(UTC) - timedelta(seconds=5)
    )
    resp = raw.send("PUT", path, query, {}, b"late")
    assert resp.status == 403
    assert absent(s3, bucket, "exp2")
    path, query = raw.presign("GET", f"/{bucket}/exp", expires=60)
    assert raw.send("GET", path, query, {}, b"").status == 200


def test_presigned_expiry_limit(s3: Endpoint, bucket: str) -> None:
    raw = s3.raw()
    path, query = raw.presign("GET", f"/{bucket}/k", expires=604801)
    resp = raw.send("GET", path, query, {}, b"")
    assert (resp.status, resp.code) == (400, "AuthorizationQueryParametersError")


# --- aws-chunked ------------------------------------------------------------------------


def test_streaming_signed_chunks_roundtrip(s3: Endpoint, bucket: str) -> None:
    data = bytes(range(256)) * 1000
    resp = s3.raw().put_chunked(f"/{bucket}/chunked", data, mode=SIGNED, chunk_size=8192)
    assert resp.status == 200, resp.body
    assert resp.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert content(s3, bucket, "chunked") == data


@pytest.mark.parametrize("where", ["signature", "data"])
def test_bad_chunk_is_refused_and_nothing_written(s3: Endpoint, bucket: str, where: str) -> None:
    data = b"z" * 50_000
    kwargs: dict[str, Any] = (
        {"corrupt_signature": 2} if where == "signature" else {"corrupt_chunk": 3}
    )
    resp = s3.raw().put_chunked(f"/{bucket}/bad", data, mode=SIGNED, chunk_size=8192, **kwargs)
    assert (resp.status, resp.code) == (403, "SignatureDoesNotMatch")
    assert absent(s3, bucket, "bad")


def test_streaming_unsigned_trailer_checksum_verified(s3: Endpoint, bucket: str) -> None:
    data = b"trailing checksum " * 5000
    raw = s3.raw()
    ok = raw.put_chunked(
        f"/{bucket}/tr",
        data,
        mode=UNSIGNED_TRAILER,
        trailer=("x-amz-checksum-crc32", crc32_b64(data)),
    )
    assert ok.status == 200, ok.body
    assert ok.headers["x-amz-checksum-crc32"] == crc32_b64(data)
    assert content(s3, bucket, "tr") == data
    bad = raw.put_chunked(
        f"/{bucket}/tr-bad",
        data,
        mode=UNSIGNED_TRAILER,
        trailer=("x-amz-checksum-crc32", crc32_b64(data + b"!")),
    )
    assert (bad.status, bad.code) == (400, "BadDigest")
    assert absent(s3, bucket, "tr-bad")


def test_streaming_signed_trailer(s3: Endpoint, bucket: str) -> None:
    data = b"signed trailer " * 3000
    raw = s3.raw()
    trailer = ("x-amz-checksum-sha256", sha256_b64(data))
    ok = raw.put_chunked(f"/{bucket}/st", data, mode=SIGNED_TRAILER, trailer=trailer)
    assert ok.status == 200, ok.body
    assert content(s3, bucket, "st") == data
    bad = raw.put_chunked(
        f"/{bucket}/st-bad",
        data,
        mode=SIGNED_TRAILER,
        trailer=trailer,
        corrupt_trailer_signature=True,
    )
    assert (bad.status, bad.code) == (403, "SignatureDoesNotMatch")
    assert absent(s3, bucket, "st-bad")


def test_decoded_length_mismatch_is_incomplete_body(s3: Endpoint, bucket: str) -> None:
    resp = s3.raw().put_chunked(f"/{bucket}/len", b"x" * 1000, mode=SIGNED, decoded_length=999)
    assert resp.status == 400
    assert absent(s3, bucket, "len")


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("crc32", lambda d: __import__("zlib").crc32(d).to_bytes(4, "big")),
        ("crc32c", _crc32c),
        ("crc64nvme", _crc64nvme),
        ("sha1", lambda d: hashlib.sha1(d).digest()),
        ("sha256", lambda d: hashlib.sha256(d).digest()),
    ],
)
def test_checksum_headers_are_verified(
    s3: Endpoint, bucket: str, algorithm: str, digest: Any
) -> None:
    data = b"checksummed " * 777
    raw = s3.raw()
    good = base64.b64encode(digest(data)).decode()
    resp = raw.request(
        "PUT", f"/{bucket}/c-{algorithm}", body=data, headers={f"x-amz-checksum-{algorithm}": good}
    )
    assert resp.status == 200, resp.body
    bad = base64.b64encode(digest(data + b"x")).decode()
    resp = raw.request(
        "PUT",
        f"/{bucket}/c-{algorithm}-bad",
        body=data,
        headers={f"x-amz-checksum-{algorithm}": bad},
    )
    assert (resp.status, resp.code) == (400, "BadDigest")
    assert absent(s3, bucket, f"c-{algorithm}-bad")
    resp = raw.put_chunked(
        f"/{bucket}/t-{algorithm}",
        data,
        mode=UNSIGNED_TRAILER,
        trailer=(f"x-amz-checksum-{algorithm}", good),
    )
    assert resp.status == 200, resp.body


# --- boto3 over TLS: the SDK's default trailing-checksum uploads -------------------------


@pytest.mark.parametrize("checksum", ["when_supported", "when_required"])
def test_boto3_over_tls_default_uploads(s3_tls: Endpoint, checksum: str) -> None:
    client = s3_tls.client(checksum=checksum)
    bucket = f"tls-{checksum.replace('_', '-')}"
    with contextlib.suppress(ClientError):
        client.create_bucket(Bucket=bucket)
    data = b"over tls " * 100_000
    put = client.put_object(Bucket=bucket, Key="k", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = client.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    sha = client.put_object(Bucket=bucket, Key="s", Body=data, ChecksumAlgorithm="SHA256")
    assert sha["ChecksumSHA256"] == sha256_b64(data)
    uid = client.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = client.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=data)
    client.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert client.get_object(Bucket=bucket, Key="mp")["Body"].read() == data
