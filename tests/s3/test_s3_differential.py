"""Differential tests: the same request sequences against our endpoint and moto's server.

Each scenario records, per step, either the normalised result or (status, error code);
the two records must agree.  Where moto is known to differ from real S3/R2, the step
is listed in KNOWN_DIFFERENCES with our (R2) answer, checked on our side only; the same
list is in docs/object-store.md.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_harness import Endpoint

Observation = tuple[Any, ...]
MiB = 1024 * 1024


def b64crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# step label -> what R2 (and we) answer; moto answers differently.
KNOWN_DIFFERENCES: dict[str, Observation] = {
    # AWS us-east-1 (moto's default region) answers 200 to re-creating your own bucket;
    # R2 and every other region answer 409 BucketAlreadyOwnedByYou.
    "create existing bucket": ("error", 409, "BucketAlreadyOwnedByYou"),
    # R2 rejects If-Match on a missing key with 412; S3 (and moto) say 404 NoSuchKey.
    "put if-match on missing key": ("error", 412, "PreconditionFailed"),
    # S3 limits keys to 1024 bytes; moto stores longer ones.
    "key too long": ("error", 400, "KeyTooLongError"),
    # S3 validates part order before part sizes; moto reports the small part first.
    "bad order": ("error", 400, "InvalidPartOrder"),
    # A retried Complete answers 200 only while the object is still that upload's
    # result (S3, R2); moto re-completes it even after the key was overwritten.
    "complete again after overwrite": ("error", 404, "NoSuchUpload"),
    # S3 stores a COMPOSITE checksum for a CRC32 multipart upload (`…-N`); moto
    # returns a value without the part count and no ChecksumType.
    "checksum of completed": ("ok", ("COMPOSITE", True)),
    # ...and moto's ListParts leaves out the parts' checksums, which S3 lists.
    "list parts with checksums": (
        "ok",
        [(1, b64crc32(b"p" * (5 * MiB))), (2, b64crc32(b"q" * 1000))],
    ),
    "head checksum": ("ok", ("COMPOSITE", True)),
    # Part numbers are validated before the upload is looked up (S3's order).
    "part 0": ("error", 400, "InvalidArgument"),
    # moto answers 500 to an unknown upload id; S3 and R2 say NoSuchUpload.
    "part no upload": ("error", 404, "NoSuchUpload"),
}


class Recorder:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.steps: dict[str, Observation] = {}

    def __call__(
        self, label: str, call: Callable[[], Any], shape: Callable[[Any], Any] = lambda r: None
    ) -> Any:
        try:
            result = call()
        except ClientError as exc:
            meta = exc.response["ResponseMetadata"]
            self.steps[label] = ("error", meta["HTTPStatusCode"], exc.response["Error"]["Code"])
            return None
        self.steps[label] = ("ok", shape(result))
        return result


def listing(result: dict[str, Any]) -> tuple[Any, ...]:
    return (
        [o["Key"] for o in result.get("Contents", [])],
        [o["Size"] for o in result.get("Contents", [])],
        [o["ETag"] for o in result.get("Contents", [])],
        [p["Prefix"] for p in result.get("CommonPrefixes", [])],
        result.get("IsTruncated"),
        result.get("KeyCount"),
    )


def body(result: dict[str, Any]) -> bytes:
    return bytes(result["Body"].read())


def scenario_objects(r: Recorder, bucket: str) -> None:
    c = r.client
    r("put", lambda: c.put_object(Bucket=bucket, Key="a/b", Body=b"hello"), lambda x: x["ETag"])
    r("get", lambda: c.get_object(Bucket=bucket, Key="a/b"), body)
    r(
        "head",
        lambda: c.head_object(Bucket=bucket, Key="a/b"),
        lambda x: (x["ContentLength"], x["ETag"]),
    )
    r("get missing", lambda: c.get_object(Bucket=bucket, Key="missing"))
    r("head missing", lambda: c.head_object(Bucket=bucket, Key="missing"))
    r("get no bucket", lambda: c.get_object(Bucket=f"{bucket}-none", Key="k"))
    r("put no bucket", lambda: c.put_object(Bucket=f"{bucket}-none", Key="k", Body=b"x"))
    r("list no bucket", lambda: c.list_objects_v2(Bucket=f"{bucket}-none"))
    r(
        "delete missing",
        lambda: c.delete_object(Bucket=bucket, Key="missing"),
        lambda x: x["ResponseMetadata"]["HTTPStatusCode"],
    )
    r(
        "empty object",
        lambda: c.put_object(Bucket=bucket, Key="empty", Body=b""),
        lambda x: x["ETag"],
    )
    r("get empty", lambda: c.get_object(Bucket=bucket, Key="empty"), body)
    r("key too long", lambda: c.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x"))
    r(
        "metadata",
        lambda: c.put_object(
            Bucket=bucket, Key="m", Body=b"m", Metadata={"k": "v"}, ContentType="text/plain"
        ),
    )
    r(
        "head metadata",
        lambda: c.head_object(Bucket=bucket, Key="m"),
        lambda x: (x["Metadata"], x["ContentType"]),
    )
    r(
        "delete",
        lambda: c.delete_object(Bucket=bucket, Key="a/b"),
        lambda x: x["ResponseMetadata"]["HTTPStatusCode"],
    )
    r("get deleted", lambda: c.get_object(Bucket=bucket, Key="a/b"))
    r(
        "delete objects",
        lambda: c.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "m"}, {"Key": "nothing"}]}
        ),
        lambda x: sorted(d["Key"] for d in x.get("Deleted", [])),
    )


def scenario_ranges(r: Recorder, bucket: str) -> None:
    c = r.client
    c.put_object(Bucket=bucket, Key="d", Body=b"0123456789")
    for spec in [
        "bytes=0-3",
        "bytes=5-",
        "bytes=-3",
        "bytes=8-100",
        "bytes=-100",
        "bytes=10-",
        "bytes=20-30",
        "bytes=3-1",
    ]:
        r(
            f"range {spec}",
            lambda spec=spec: c.get_object(Bucket=bucket, Key="d", Range=spec),
            lambda x: (x["ResponseMetadata"]["HTTPStatusCode"], x["Body"].read()),
        )


def scenario_listing(r: Recorder, bucket: str) -> None:
    c = r.client
    keys = ["a", "a/", "a/b", "a/b/c", "a/c", "ab", "b/x/y", "b/z", "c d", "c+d", "é", "z/"]
    for key in keys:
        c.put_object(Bucket=bucket, Key=key, Body=key.encode())
    r("all", lambda: c.list_objects_v2(Bucket=bucket), listing)
    r("delimiter", lambda: c.list_objects_v2(Bucket=bucket, Delimiter="/"), listing)
    r("prefix a/", lambda: c.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/"), listing)
    r("prefix a", lambda: c.list_objects_v2(Bucket=bucket, Prefix="a"), listing)
    r("prefix none", lambda: c.list_objects_v2(Bucket=bucket, Prefix="zzz"), listing)
    r("start-after", lambda: c.list_objects_v2(Bucket=bucket, StartAfter="a/b"), listing)
    r("max-keys 0", lambda: c.list_objects_v2(Bucket=bucket, MaxKeys=0), listing)
    r("max-keys 3", lambda: c.list_objects_v2(Bucket=bucket, MaxKeys=3), listing)
    pages: list[Any] = []
    token: str | None = None
    for _ in range(20):
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 2, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        page = c.list_objects_v2(**kwargs)
        pages.append(listing(page))
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    r.steps["paged delimiter"] = ("ok", pages)
    v1_pages: list[Any] = []
    marker = ""
    for _ in range(20):
        page = c.list_objects(Bucket=bucket, MaxKeys=3, Marker=marker)
        v1_pages.append(listing(page))
        if not page["IsTruncated"]:
            break
        marker = page["Contents"][-1]["Key"]
    r.steps["v1 paged"] = ("ok", v1_pages)
    r("v1 delimiter", lambda: c.list_objects(Bucket=bucket, Delimiter="/"), listing)
    r("v1 marker", lambda: c.list_objects(Bucket=bucket, Marker="a/b"), listing)


def scenario_conditional(r: Recorder, bucket: str) -> None:
    c = r.client
    etag = r("put", lambda: c.put_object(Bucket=bucket, Key="k", Body=b"v1"), lambda x: x["ETag"])
    assert etag is not None
    first = etag["ETag"]
    r(
        "if-none-match * existing",
        lambda: c.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch="*"),
    )
    r(
        "if-none-match * new",
        lambda: c.put_object(Bucket=bucket, Key="new", Body=b"x", IfNoneMatch="*"),
        lambda x: x["ETag"],
    )
    r(
        "if-match ok",
        lambda: c.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=first),
        lambda x: x["ETag"],
    )
    r("if-match stale", lambda: c.put_object(Bucket=bucket, Key="k", Body=b"v3", IfMatch=first))
    r(
        "put if-match on missing key",
        lambda: c.put_object(Bucket=bucket, Key="nope", Body=b"v", IfMatch=first),
    )
    r("get after", lambda: c.get_object(Bucket=bucket, Key="k"), body)
    r("get if-match stale", lambda: c.get_object(Bucket=bucket, Key="k", IfMatch=first))
    r(
        "get if-none-match stale",
        lambda: c.get_object(Bucket=bucket, Key="k", IfNoneMatch=first),
        body,
    )


def scenario_multipart(r: Recorder, bucket: str) -> None:
    c = r.client
    up = r("create", lambda: c.create_multipart_upload(Bucket=bucket, Key="mp"), lambda x: x["Key"])
    uid = up["UploadId"]
    big, small = b"a" * (5 * MiB), b"b" * 100
    e1 = r(
        "part 1",
        lambda: c.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=big),
        lambda x: x["ETag"],
    )["ETag"]
    e2 = r(
        "part 2",
        lambda: c.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=small),
        lambda x: x["ETag"],
    )["ETag"]
    e3 = r(
        "part 3 small",
        lambda: c.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=3, Body=small),
        lambda x: x["ETag"],
    )["ETag"]
    r(
        "list parts",
        lambda: c.list_parts(Bucket=bucket, Key="mp", UploadId=uid),
        lambda x: [(p["PartNumber"], p["ETag"], p["Size"]) for p in x["Parts"]],
    )
    r(
        "part 0",
        lambda: c.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=0, Body=small),
    )
    r(
        "part no upload",
        lambda: c.upload_part(Bucket=bucket, Key="mp", UploadId="nope", PartNumber=1, Body=small),
    )

    def complete(parts: list[tuple[int, str]]) -> Callable[[], Any]:
        return lambda: c.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
        )

    r("too small", complete([(1, e1), (2, e2), (3, e3)]))
    r("bad etag", complete([(1, e1), (2, '"00000000000000000000000000000000"')]))
    r("bad order", complete([(2, e2), (1, e1)]))
    r("missing part", complete([(1, e1), (4, e2)]))
    r("complete", complete([(1, e1), (2, e2)]), lambda x: x["ETag"])
    r(
        "get",
        lambda: c.get_object(Bucket=bucket, Key="mp"),
        lambda x: hashlib.md5(x["Body"].read()).hexdigest(),
    )
    r("complete again", complete([(1, e1), (2, e2)]), lambda x: x["ETag"])
    r("list parts done", lambda: c.list_parts(Bucket=bucket, Key="mp", UploadId=uid))
    c.put_object(Bucket=bucket, Key="mp", Body=b"overwritten")
    r("complete again after overwrite", complete([(1, e1), (2, e2)]))
    up2 = c.create_multipart_upload(Bucket=bucket, Key="ab")["UploadId"]
    r(
        "list uploads",
        lambda: c.list_multipart_uploads(Bucket=bucket),
        lambda x: [u["Key"] for u in x.get("Uploads", [])],
    )
    r(
        "abort",
        lambda: c.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=up2),
        lambda x: x["ResponseMetadata"]["HTTPStatusCode"],
    )
    r("abort again", lambda: c.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=up2))


def scenario_multipart_checksums(r: Recorder, bucket: str) -> None:
    """boto3's upload_fileobj declares CRC32 and sends it with every part (its default)."""
    c = r.client
    created = r(
        "create crc32",
        lambda: c.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="CRC32"),
        lambda x: x.get("ChecksumAlgorithm"),
    )
    uid = created["UploadId"]
    parts = []
    for number, body in ((1, b"p" * (5 * MiB)), (2, b"q" * 1000)):  # as in KNOWN_DIFFERENCES
        result = r(
            f"part {number} crc32",
            lambda n=number, b=body: c.upload_part(
                Bucket=bucket,
                Key="ck",
                UploadId=uid,
                PartNumber=n,
                Body=b,
                ChecksumAlgorithm="CRC32",
            ),
            lambda x: (x["ETag"], x["ChecksumCRC32"]),
        )
        parts.append(
            {"PartNumber": number, "ETag": result["ETag"], "ChecksumCRC32": result["ChecksumCRC32"]}
        )
    r(
        "list parts with checksums",
        lambda: c.list_parts(Bucket=bucket, Key="ck", UploadId=uid),
        lambda x: [(p["PartNumber"], p.get("ChecksumCRC32")) for p in x["Parts"]],
    )
    r(
        "checksum of completed",
        lambda: c.complete_multipart_upload(
            Bucket=bucket, Key="ck", UploadId=uid, MultipartUpload={"Parts": parts}
        ),
        lambda x: (x.get("ChecksumType"), x.get("ChecksumCRC32", "").endswith("-2")),
    )
    r(
        "head checksum",
        lambda: c.head_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED"),
        lambda x: (x.get("ChecksumType"), x.get("ChecksumCRC32", "").endswith("-2")),
    )
    r(
        "list uploads by prefix",
        lambda: (
            [c.create_multipart_upload(Bucket=bucket, Key=k) for k in ("u/1", "u/2", "v/3", "uu")]
            and c.list_multipart_uploads(Bucket=bucket, Prefix="u/")
        ),
        lambda x: [u["Key"] for u in x.get("Uploads", [])],
    )


def scenario_copy_and_buckets(r: Recorder, bucket: str) -> None:
    c = r.client
    c.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"})
    r(
        "copy",
        lambda: c.copy_object(
            Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}
        ),
        lambda x: x["CopyObjectResult"]["ETag"],
    )
    r("copy metadata", lambda: c.head_object(Bucket=bucket, Key="dst"), lambda x: x["Metadata"])
    r(
        "copy to self",
        lambda: c.copy_object(
            Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}
        ),
    )
    r(
        "copy missing",
        lambda: c.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "none"}),
    )
    r(
        "copy replace",
        lambda: c.copy_object(
            Bucket=bucket,
            Key="src",
            CopySource={"Bucket": bucket, "Key": "src"},
            MetadataDirective="REPLACE",
            Metadata={"b": "2"},
        ),
        lambda x: x["CopyObjectResult"]["ETag"],
    )
    r(
        "head bucket",
        lambda: c.head_bucket(Bucket=bucket),
        lambda x: x["ResponseMetadata"]["HTTPStatusCode"],
    )
    r("head missing bucket", lambda: c.head_bucket(Bucket=f"{bucket}-nope"))
    r("create existing bucket", lambda: c.create_bucket(Bucket=bucket))
    r("delete non-empty bucket", lambda: c.delete_bucket(Bucket=bucket))
    r("delete missing bucket", lambda: c.delete_bucket(Bucket=f"{bucket}-nope"))
    r("invalid bucket name", lambda: c.create_bucket(Bucket="xy"))


SCENARIOS = [
    scenario_objects,
    scenario_ranges,
    scenario_listing,
    scenario_conditional,
    scenario_multipart,
    scenario_multipart_checksums,
    scenario_copy_and_buckets,
]


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=[s.__name__.removeprefix("scenario_") for s in SCENARIOS]
)
def test_same_answers_as_moto(
    s3: Endpoint, moto_s3: Endpoint, scenario: Callable[[Recorder, str], None]
) -> None:
    records: list[dict[str, Observation]] = []
    for endpoint, region in ((s3, "auto"), (moto_s3, "us-east-1")):
        client = endpoint.client(region=region, checksum="when_required")
        bucket = f"diff-{uuid.uuid4().hex[:16]}"
        client.create_bucket(Bucket=bucket)
        recorder = Recorder(client)
        scenario(recorder, bucket)
        records.append(recorder.steps)
    ours, moto = records
    assert ours.keys() == moto.keys()
    mismatches = {
        label: (ours[label], moto[label])
        for label in ours
        if label not in KNOWN_DIFFERENCES and ours[label] != moto[label]
    }
    assert mismatches == {}
    for label, expected in KNOWN_DIFFERENCES.items():
        if label in ours:
            assert ours[label] == expected, label
