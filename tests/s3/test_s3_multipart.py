"""Multipart conformance beyond the happy path: retried completes, checksums, listings.

The checksum values are computed here independently (zlib for CRC32, awscrt for
CRC32C, the same library boto3 uses) from the bytes sent, following S3's definition:
COMPOSITE is the checksum of the concatenated raw part checksums, then `-N`.
"""

from __future__ import annotations

import base64
import io
import zlib
from typing import Any

import pytest
from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from s3_harness import Endpoint

MiB = 1024 * 1024


def b64(value: int, width: int = 4) -> str:
    return base64.b64encode(value.to_bytes(width, "big")).decode()


def composite_crc32(parts: list[bytes]) -> str:
    digests = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    return f"{b64(zlib.crc32(digests))}-{len(parts)}"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def upload(
    client: Any, bucket: str, key: str, parts: list[bytes], **create: Any
) -> list[dict[str, Any]]:
    """Create an upload and send `parts`; the Complete request's part list."""
    algorithm = create.get("ChecksumAlgorithm")
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        extra = {} if algorithm is None else {"ChecksumAlgorithm": algorithm}
        result = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **extra
        )
        part = {"PartNumber": number, "ETag": result["ETag"]}
        if algorithm is not None:
            part[f"Checksum{algorithm}"] = result[f"Checksum{algorithm}"]
        done.append(part)
    return [{"UploadId": upload_id}, *done]


def complete(client: Any, bucket: str, key: str, spec: list[dict[str, Any]]) -> Any:
    return client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=spec[0]["UploadId"], MultipartUpload={"Parts": spec[1:]}
    )


PARTS = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"tail"]


def test_retried_complete_answers_like_the_first_until_the_key_changes(
    s3: Endpoint, bucket: str
) -> None:
    client = s3.client(checksum="when_required")
    spec = upload(client, bucket, "k", PARTS, ChecksumAlgorithm="CRC32")
    first = complete(client, bucket, "k", spec)
    again = complete(client, bucket, "k", spec)
    assert again["ETag"] == first["ETag"]
    assert again["ChecksumCRC32"] == first["ChecksumCRC32"]
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(PARTS)
    client.put_object(Bucket=bucket, Key="k", Body=b"newer")
    with pytest.raises(ClientError) as exc:
        complete(client, bucket, "k", spec)
    assert error_code(exc) == (404, "NoSuchUpload")
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"newer"


def test_a_copy_of_the_result_does_not_answer_for_the_upload(s3: Endpoint, bucket: str) -> None:
    client = s3.client(checksum="when_required")
    spec = upload(client, bucket, "k", PARTS)
    complete(client, bucket, "k", spec)
    client.copy_object(Bucket=bucket, Key="k2", CopySource={"Bucket": bucket, "Key": "k"})
    with pytest.raises(ClientError) as exc:
        complete(client, bucket, "k2", spec)
    assert error_code(exc) == (404, "NoSuchUpload")


def test_boto3_default_upload_gets_a_composite_crc32(s3: Endpoint, bucket: str) -> None:
    """upload_fileobj with boto3's defaults declares CRC32 and sends it with each part."""
    client = s3.client()  # request_checksum_calculation=when_supported
    data = b"".join(PARTS)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    client.upload_fileobj(io.BytesIO(data), bucket, "big", Config=config)
    head = client.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == composite_crc32(PARTS)
    assert head["ChecksumType"] == "COMPOSITE"
    got = client.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == composite_crc32(PARTS)
    assert got["Body"].read() == data
    assert "ChecksumCRC32" not in client.head_object(Bucket=bucket, Key="big")


def test_composite_crc32c(s3: Endpoint, bucket: str) -> None:
    client = s3.client(checksum="when_required")
    spec = upload(client, bucket, "c", PARTS, ChecksumAlgorithm="CRC32C")
    result = complete(client, bucket, "c", spec)
    digests = b"".join(crt.crc32c(p).to_bytes(4, "big") for p in PARTS)
    expected = f"{b64(crt.crc32c(digests))}-3"
    assert (result["ChecksumCRC32C"], result["ChecksumType"]) == (expected, "COMPOSITE")
    head = client.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32C"] == expected


@pytest.mark.parametrize(
    ("algorithm", "whole"),
    [
        ("CRC32", lambda d: b64(zlib.crc32(d))),
        ("CRC64NVME", lambda d: b64(crt.crc64nvme(d), 8)),
    ],
)
def test_full_object_checksum_is_the_crc_of_the_whole_object(
    s3: Endpoint, bucket: str, algorithm: str, whole: Any
) -> None:
    client = s3.client(checksum="when_required")
    spec = upload(
        client, bucket, "f", PARTS, ChecksumAlgorithm=algorithm, ChecksumType="FULL_OBJECT"
    )
    result = complete(client, bucket, "f", spec)
    expected = whole(b"".join(PARTS))
    assert (result[f"Checksum{algorithm}"], result["ChecksumType"]) == (expected, "FULL_OBJECT")


def test_complete_must_repeat_the_part_checksums(s3: Endpoint, bucket: str) -> None:
    client = s3.client(checksum="when_required")
    spec = upload(client, bucket, "m", PARTS[1:], ChecksumAlgorithm="CRC32")
    missing = [spec[0], {k: v for k, v in spec[1].items() if k != "ChecksumCRC32"}, spec[2]]
    with pytest.raises(ClientError) as exc:
        complete(client, bucket, "m", missing)
    assert error_code(exc) == (400, "InvalidRequest")
    wrong = [spec[0], {**spec[1], "ChecksumCRC32": b64(0)}, spec[2]]
    with pytest.raises(ClientError) as exc:
        complete(client, bucket, "m", wrong)
    assert error_code(exc) == (400, "InvalidPart")
    complete(client, bucket, "m", spec)


def test_part_with_another_algorithm_is_refused(s3: Endpoint, bucket: str) -> None:
    client = s3.client(checksum="when_required")
    upload_id = client.create_multipart_upload(Bucket=bucket, Key="x", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    with pytest.raises(ClientError) as exc:
        client.upload_part(
            Bucket=bucket,
            Key="x",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ChecksumAlgorithm="SHA256",
        )
    assert error_code(exc) == (400, "InvalidRequest")


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-checksum-algorithm": "MD5"},
        {"x-amz-checksum-type": "COMPOSITE"},
        {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
        {"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
    ],
)
def test_bad_checksum_declarations_are_invalid_request(
    s3: Endpoint, bucket: str, headers: dict[str, str]
) -> None:
    response = s3.raw().request("POST", f"/{bucket}/k", query=[("uploads", "")], headers=headers)
    assert (response.status, response.code) == (400, "InvalidRequest")


def list_all_uploads(client: Any, bucket: str, **kwargs: Any) -> list[tuple[str, ...]]:
    """Every page of ListMultipartUploads: (kind, key or prefix) in order."""
    seen: list[tuple[str, ...]] = []
    markers: dict[str, str] = {}
    for _ in range(50):
        page = client.list_multipart_uploads(Bucket=bucket, **kwargs, **markers)
        seen += [("upload", u["Key"]) for u in page.get("Uploads", [])]
        seen += [("prefix", p["Prefix"]) for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            return seen
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if page.get("NextUploadIdMarker"):
            markers["UploadIdMarker"] = page["NextUploadIdMarker"]
    raise AssertionError("pagination did not end")


def test_list_multipart_uploads_delimiter_prefix_and_pagination(s3: Endpoint, bucket: str) -> None:
    client = s3.client()
    keys = ["a/1", "a/2", "a/b/3", "a/b/4", "b", "c/5", "d", "d"]
    for key in keys:
        client.create_multipart_upload(Bucket=bucket, Key=key)
    everything = [("upload", k) for k in keys]
    assert list_all_uploads(client, bucket) == everything
    assert list_all_uploads(client, bucket, MaxUploads=3) == everything
    assert list_all_uploads(client, bucket, MaxUploads=1) == everything

    page = client.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in page["Uploads"]] == ["b", "d", "d"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "c/"]
    assert page["Delimiter"] == "/"

    page = client.list_multipart_uploads(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [u["Key"] for u in page["Uploads"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/b/"]

    # A common prefix counts once towards max-uploads, and a page ending on one
    # resumes after everything under it.
    first = client.list_multipart_uploads(Bucket=bucket, Delimiter="/", MaxUploads=1)
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["a/"]
    assert first["IsTruncated"] and first["NextKeyMarker"] == "a/"
    paged = list_all_uploads(client, bucket, Delimiter="/", MaxUploads=1)
    assert sorted(paged) == sorted(
        [("prefix", "a/"), ("upload", "b"), ("prefix", "c/"), ("upload", "d"), ("upload", "d")]
    )

    # Two uploads of one key are told apart by the upload-id-marker.
    d_uploads = [u for u in client.list_multipart_uploads(Bucket=bucket, Prefix="d")["Uploads"]]
    after_first = client.list_multipart_uploads(
        Bucket=bucket, KeyMarker="d", UploadIdMarker=d_uploads[0]["UploadId"]
    )
    assert [u["UploadId"] for u in after_first["Uploads"]] == [d_uploads[1]["UploadId"]]
    after_key = client.list_multipart_uploads(Bucket=bucket, KeyMarker="c/5")
    assert [u["Key"] for u in after_key["Uploads"]] == ["d", "d"]
