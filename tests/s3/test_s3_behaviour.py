"""One behaviour suite, run through every client Iceberg users point at the endpoint.

Each test is parametrized over boto3, pyarrow's S3FileSystem, s3fs and DuckDB's httpfs
(adapters in `clients.py`).  A test needing something a client cannot express skips
for that client with the reason; the core (write, read, overwrite, missing keys,
listing, deleting, a multipart-sized object, Parquet files, vended credentials) runs
for all four.  What the client did is checked from outside too, with a plain boto3
client (`oracle`): the bytes stored, the multipart ETag, the headers kept.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest
from clients import (
    ADAPTERS,
    CONTENT_TYPE,
    COPY,
    DELETE_KEY,
    DELIMITER,
    IF_MATCH,
    IF_NONE_MATCH,
    PROJECTION,
    RANGE,
    USER_METADATA,
    Adapter,
    Creds,
    MiB,
)
from s3_harness import Endpoint

PREFIX = "warehouse/ns/tbl/"
LARGE = 16 * MiB + 12_345  # several parts for every client, and a short last part


def text(size: int, seed: str = "seed") -> bytes:
    """`size` bytes of newline-terminated text lines (DuckDB can only write text)."""
    line = (hashlib.sha256(seed.encode()).hexdigest() + "\n").encode()
    body = (line * (size // len(line) + 1))[: size - 1]
    return body + b"\n"


def chunks(data: bytes, size: int = MiB) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture(scope="module")
def oracle(s3: Endpoint) -> Any:
    return s3.client()


@pytest.fixture(scope="module", params=list(ADAPTERS))
def client(request: pytest.FixtureRequest, s3: Endpoint, oracle: Any) -> Iterator[Adapter]:
    """One adapter and bucket per client for the module; each test starts it empty."""
    name = f"b-{request.param}-{uuid.uuid4().hex[:12]}"
    oracle.create_bucket(Bucket=name)
    adapter = ADAPTERS[request.param](s3, name, Creds(s3.access_key, s3.secret_key))
    yield adapter
    adapter.close()


@pytest.fixture(autouse=True)
def _empty_bucket(request: pytest.FixtureRequest, oracle: Any) -> Iterator[None]:
    yield
    if "client" in request.fixturenames:
        bucket = request.getfixturevalue("client").bucket
        listed = oracle.list_objects_v2(Bucket=bucket).get("Contents", [])
        if listed:
            objects = [{"Key": o["Key"]} for o in listed]
            oracle.delete_objects(Bucket=bucket, Delete={"Objects": objects})


def key(name: str) -> str:
    return PREFIX + name


def stored_keys(oracle: Any, bucket: str) -> list[str]:
    """The objects under PREFIX, from outside the client.

    pyarrow's S3FileSystem writes an empty `dir/` marker object when it deletes the
    last file of a directory (so the directory keeps existing); markers are not data.
    """
    listed = oracle.list_objects_v2(Bucket=bucket, Prefix=PREFIX)
    return [o["Key"] for o in listed.get("Contents", []) if not o["Key"].endswith("/")]


# --- core: every client -------------------------------------------------------------------


def test_write_then_read_returns_the_same_bytes(client: Adapter, oracle: Any) -> None:
    data = text(100_000)
    client.put(key("data/a.txt"), data)
    assert client.get(key("data/a.txt")) == data
    stat = client.stat(key("data/a.txt"))
    assert stat is not None and stat.size == len(data)
    stored = oracle.get_object(Bucket=client.bucket, Key=key("data/a.txt"))
    assert stored["Body"].read() == data
    if "-" not in stored["ETag"]:  # pyarrow may send even a small file as a 1-part upload
        assert stored["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    if stat.etag is not None:
        assert f'"{stat.etag}"' == stored["ETag"]


def test_overwrite_replaces_the_whole_object(client: Adapter) -> None:
    client.put(key("v.txt"), text(50_000, "first"))
    client.put(key("v.txt"), text(10, "second"))
    assert client.get(key("v.txt")) == text(10, "second")
    stat = client.stat(key("v.txt"))
    assert stat is not None and stat.size == 10


def test_missing_key_reads_as_absent(client: Adapter) -> None:
    assert client.stat(key("nope.txt")) is None
    with pytest.raises(FileNotFoundError):
        client.get(key("nope.txt"))


def test_recursive_listing_under_a_prefix(client: Adapter, oracle: Any) -> None:
    names = ["a/1.txt", "a/2.txt", "a/b/3.txt", "ab.txt", "c/4.txt"]
    for name in names:
        oracle.put_object(Bucket=client.bucket, Key=key(name), Body=b"x\n")
    oracle.put_object(Bucket=client.bucket, Key="warehouse/ns/other.txt", Body=b"x\n")
    assert client.list_all(PREFIX) == [key(n) for n in names]
    assert client.list_all(key("a/")) == [key(n) for n in ["a/1.txt", "a/2.txt", "a/b/3.txt"]]


def test_delete_everything_under_a_prefix(client: Adapter, oracle: Any) -> None:
    for name in ["d/1.txt", "d/e/2.txt", "d/e/f/3.txt", "keep/4.txt"]:
        oracle.put_object(Bucket=client.bucket, Key=key(name), Body=b"x\n")
    client.delete_prefix(key("d/"))
    assert stored_keys(oracle, client.bucket) == [key("keep/4.txt")]
    assert client.list_all(key("d/")) == []


def test_large_object_goes_through_the_multipart_path(client: Adapter, oracle: Any) -> None:
    data = text(LARGE, "large")
    client.put_stream(key("big.txt"), chunks(data))
    head = oracle.head_object(Bucket=client.bucket, Key=key("big.txt"))
    assert head["ContentLength"] == LARGE
    etag = head["ETag"].strip('"')
    assert "-" in etag and int(etag.rsplit("-", 1)[1]) >= 2, etag
    assert hashlib.md5(client.get(key("big.txt"))).digest() == hashlib.md5(data).digest()
    if RANGE not in client.unsupported:
        assert client.get_range(key("big.txt"), LARGE - 100, LARGE) == data[-100:]
        middle = 8 * MiB - 10
        assert client.get_range(key("big.txt"), middle, middle + 20) == data[middle : middle + 20]


def test_parquet_file_roundtrip(client: Adapter, oracle: Any) -> None:
    rows = 50_000
    table = pa.table(
        {"id": pa.array(range(rows), pa.int64()), "name": [f"n{i}" for i in range(rows)]}
    )
    client.write_parquet(key("data/part-0.parquet"), table)
    assert client.read_parquet(key("data/part-0.parquet")).equals(table)
    stored = oracle.get_object(Bucket=client.bucket, Key=key("data/part-0.parquet"))
    assert stored["Body"].read(4) == b"PAR1"


# --- where the client can say it -------------------------------------------------------------


class BytesServed(logging.Handler):
    """Sums the endpoint's GetObject bytes per key, from its access log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_key: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "s3", None)
        if fields and fields.get("operation") == "GetObject" and fields.get("key"):
            key = fields["key"]
            self.by_key[key] = self.by_key.get(key, 0) + int(fields["bytes_out"])


def test_reading_one_parquet_column_fetches_part_of_the_file(client: Adapter, oracle: Any) -> None:
    client.require(PROJECTION)
    rows = 40_000
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "blob": [hashlib.sha256(str(i).encode()).hexdigest() * 2 for i in range(rows)],
        }
    )
    client.write_parquet(key("wide.parquet"), table)
    size = oracle.head_object(Bucket=client.bucket, Key=key("wide.parquet"))["ContentLength"]
    handler = BytesServed()
    s3_logger = logging.getLogger("icefloe.s3")
    level = s3_logger.level
    s3_logger.addHandler(handler)
    s3_logger.setLevel(logging.INFO)
    try:
        assert client.read_parquet(key("wide.parquet"), columns=["id"]).equals(table.select(["id"]))
    finally:
        s3_logger.removeHandler(handler)
        s3_logger.setLevel(level)
    served = handler.by_key[key("wide.parquet")]
    assert 0 < served < size * 0.3, (served, size)


def test_ranged_reads(client: Adapter) -> None:
    client.require(RANGE)
    data = text(10_000)
    client.put(key("r.txt"), data)
    assert client.get_range(key("r.txt"), 0, 1) == data[:1]
    assert client.get_range(key("r.txt"), 100, 200) == data[100:200]
    assert client.get_range(key("r.txt"), 9_990, 10_000) == data[-10:]


def test_content_type_is_kept(client: Adapter, oracle: Any) -> None:
    client.require(CONTENT_TYPE)
    client.put(key("m.json"), b'{"a": 1}\n', content_type="application/json")
    stat = client.stat(key("m.json"))
    assert stat is not None and stat.content_type == "application/json"
    head = oracle.head_object(Bucket=client.bucket, Key=key("m.json"))
    assert head["ContentType"] == "application/json"


def test_user_metadata_is_kept(client: Adapter, oracle: Any) -> None:
    client.require(USER_METADATA)
    client.put(key("meta.txt"), b"x\n", metadata={"snapshot-id": "42", "writer": "icefloe"})
    stat = client.stat(key("meta.txt"))
    assert stat is not None and stat.metadata == {"snapshot-id": "42", "writer": "icefloe"}
    head = oracle.head_object(Bucket=client.bucket, Key=key("meta.txt"))
    assert head["Metadata"] == {"snapshot-id": "42", "writer": "icefloe"}


def test_listing_with_a_delimiter(client: Adapter, oracle: Any) -> None:
    client.require(DELIMITER)
    for name in ["a/1.txt", "a/2.txt", "a/b/3.txt", "a/c/4.txt", "ab.txt"]:
        oracle.put_object(Bucket=client.bucket, Key=key(name), Body=b"x\n")
    keys, prefixes = client.list(key("a/"))
    assert keys == [key("a/1.txt"), key("a/2.txt")]
    assert prefixes == [key("a/b/"), key("a/c/")]


def test_delete_one_key(client: Adapter, oracle: Any) -> None:
    client.require(DELETE_KEY)
    client.put(key("x.txt"), b"x\n")
    client.put(key("y.txt"), b"y\n")
    client.delete(key("x.txt"))
    assert client.stat(key("x.txt")) is None
    assert stored_keys(oracle, client.bucket) == [key("y.txt")]


def test_server_side_copy(client: Adapter, oracle: Any) -> None:
    client.require(COPY)
    data = text(70_000)
    client.put(key("src.txt"), data)
    client.copy(key("src.txt"), key("dst.txt"))
    assert client.get(key("dst.txt")) == data
    src = oracle.head_object(Bucket=client.bucket, Key=key("src.txt"))
    dst = oracle.head_object(Bucket=client.bucket, Key=key("dst.txt"))
    assert dst["ETag"] == src["ETag"]


def test_conditional_create_refuses_an_existing_key(client: Adapter) -> None:
    client.require(IF_NONE_MATCH)
    client.put_if_absent(key("once.txt"), b"first\n")
    with pytest.raises(FileExistsError):
        client.put_if_absent(key("once.txt"), b"second\n")
    assert client.get(key("once.txt")) == b"first\n"


def test_conditional_replace_is_compare_and_swap(client: Adapter) -> None:
    client.require(IF_MATCH)
    client.put(key("cas.txt"), b"v1\n")
    v1 = hashlib.md5(b"v1\n").hexdigest()
    client.put_if_match(key("cas.txt"), b"v2\n", v1)
    with pytest.raises(FileExistsError):
        client.put_if_match(key("cas.txt"), b"v3\n", v1)
    assert client.get(key("cas.txt")) == b"v2\n"


# --- vended credentials -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_vended_credentials_work_inside_their_prefix_only(
    s3: Endpoint, bucket: str, oracle: Any, name: str
) -> None:
    assert s3.app is not None
    vended = s3.app.authority.issue(
        bucket=bucket, prefixes=[PREFIX], permission="object-read-write", ttl=timedelta(hours=1)
    )
    creds = Creds(vended.access_key_id, vended.secret_access_key, vended.session_token)
    client = ADAPTERS[name](s3, bucket, creds)
    try:
        _confined_to_prefix(client, oracle)
    finally:
        client.close()


def _confined_to_prefix(client: Adapter, oracle: Any) -> None:
    bucket = client.bucket
    client.put(key("data/a.txt"), b"inside\n")
    assert client.get(key("data/a.txt")) == b"inside\n"
    assert client.list_all(key("data/")) == [key("data/a.txt")]
    client.delete_prefix(key("data/"))
    assert client.list_all(key("data/")) == []
    oracle.put_object(Bucket=bucket, Key="warehouse/ns/other/secret.txt", Body=b"s\n")
    with pytest.raises(PermissionError):
        client.put("warehouse/ns/other/x.txt", b"outside\n")
    with pytest.raises(PermissionError):
        client.get("warehouse/ns/other/secret.txt")
    listed = oracle.list_objects_v2(Bucket=bucket, Prefix="warehouse/ns/other/")
    assert [o["Key"] for o in listed["Contents"]] == ["warehouse/ns/other/secret.txt"]
