"""Unit properties of the pieces: listing against a model, checksums, chunk decoding."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.s3 import errors
from storage.s3.checksums import new_checksum
from storage.s3.chunked import AwsChunkedDecoder
from storage.s3.index import ObjectAttrs, ObjectRow
from storage.s3.ranges import parse_range
from storage.s3.store import Bucket, ObjectStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ObjectStore:
    store = ObjectStore(tmp_path_factory.mktemp("store"), fsync=False)
    store.startup()
    return store


def fill(bucket: Bucket, keys: list[str]) -> None:
    with bucket.index.write() as conn:
        conn.execute("DELETE FROM objects")
        for key in keys:
            bucket.index.put_object_in(conn, ObjectRow(key, 0, "e", 0, ObjectAttrs(), ()))


def model(keys: list[str], prefix: str, delimiter: str | None) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key in sorted(set(keys), key=lambda k: k.encode()):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if not items or items[-1] != ("p", common):
                items.append(("p", common))
        else:
            items.append(("k", key))
    return items


def paged(
    bucket: Bucket, prefix: str, delimiter: str | None, max_keys: int
) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    after: bytes | None = None
    for _ in range(1000):
        page = bucket.list_objects(
            prefix.encode(), delimiter.encode() if delimiter else None, after, max_keys
        )
        assert len(page.contents) + len(page.common_prefixes) <= max_keys
        merged = [("k", o.key.decode()) for o in page.contents]
        merged += [("p", p.decode()) for p in page.common_prefixes]
        items += sorted(merged, key=lambda item: item[1].encode())
        if not page.truncated:
            return items
        after = page.next_after
    raise AssertionError("pagination did not end")


ALPHABET = st.sampled_from(["a", "b", "/", "-", "é", "\x7f", "z", "ab/"])
KEYS = st.lists(st.lists(ALPHABET, min_size=1, max_size=6).map("".join), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    keys=KEYS,
    prefix=st.sampled_from(["", "a", "a/", "ab", "é", "z/"]),
    delimiter=st.sampled_from([None, "/", "b", "ab/"]),
    max_keys=st.integers(1, 5),
)
def test_listing_matches_a_model_across_pages(
    store: ObjectStore, keys: list[str], prefix: str, delimiter: str | None, max_keys: int
) -> None:
    if not (Path(store.data_dir) / "buckets" / "model").exists():
        store.create_bucket("model")
    bucket = store.bucket("model")
    fill(bucket, keys)
    assert paged(bucket, prefix, delimiter, max_keys) == model(keys, prefix, delimiter)


def test_delimiter_listing_over_100k_keys(store: ObjectStore) -> None:
    store.create_bucket("hundred-k")
    bucket = store.bucket("hundred-k")
    keys = [f"tbl{t}/data/{i:06d}.parquet" for t in range(4) for i in range(25_000)]
    fill(bucket, [*keys, "tbl0/metadata/v1.json"])
    top = bucket.list_objects(b"", b"/", None, 1000)
    assert top.common_prefixes == [b"tbl0/", b"tbl1/", b"tbl2/", b"tbl3/"]
    inner = bucket.list_objects(b"tbl0/", b"/", None, 1000)
    assert inner.common_prefixes == [b"tbl0/data/", b"tbl0/metadata/"]
    page = bucket.list_objects(b"tbl3/data/", None, b"tbl3/data/024997.parquet", 1000)
    assert [o.key for o in page.contents] == [
        b"tbl3/data/024998.parquet",
        b"tbl3/data/024999.parquet",
    ]


def _bitwise(data: bytes, poly: int, bits: int) -> bytes:
    mask = (1 << bits) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return (crc ^ mask).to_bytes(bits // 8, "big")


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), split=st.integers(0, 300))
def test_table_crcs_match_bitwise_definitions(data: bytes, split: int) -> None:
    for name, poly, bits in (("CRC32C", 0x82F63B78, 32), ("CRC64NVME", 0x9A6C9329AC4BC9B5, 64)):
        checksum = new_checksum(name)
        checksum.update(data[:split])
        checksum.update(data[split:])
        assert checksum.digest() == _bitwise(data, poly, bits)
    crc32 = new_checksum("CRC32")
    crc32.update(data)
    assert crc32.digest() == zlib.crc32(data).to_bytes(4, "big")


def test_known_check_values() -> None:
    for name, expected in (
        ("CRC32", "cbf43926"),
        ("CRC32C", "e3069283"),
        ("CRC64NVME", "ae8b14860a799888"),
    ):
        checksum = new_checksum(name)
        checksum.update(b"123456789")
        assert checksum.digest().hex() == expected


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000), chunk=st.integers(1, 700), feed=st.integers(1, 50))
def test_unsigned_chunked_decoding_is_split_independent(data: bytes, chunk: int, feed: int) -> None:
    body = b"".join(
        f"{len(data[i : i + chunk]):x}\r\n".encode() + data[i : i + chunk] + b"\r\n"
        for i in range(0, len(data), chunk)
    )
    body += b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    decoder = AwsChunkedDecoder(None, allow_trailer=True)
    out = b"".join(
        bytes(p) for i in range(0, len(body), feed) for p in decoder.feed(body[i : i + feed])
    )
    decoder.finish()
    assert out == data
    assert decoder.trailers == {"x-amz-checksum-crc32": "AAAAAA=="}


def test_truncated_chunked_body_is_incomplete() -> None:
    decoder = AwsChunkedDecoder(None, allow_trailer=True)
    decoder.feed(b"10\r\nabc")
    with pytest.raises(errors.IncompleteBody):
        decoder.finish()


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=9-", 10, (9, 10)),
        ("bytes=-1", 10, (9, 10)),
        ("bytes=-20", 10, (0, 10)),
        ("bytes=2-1", 10, None),
        ("bytes=0-1,4-5", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=0-", 0), ("bytes=-0", 10)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(errors.InvalidRange):
        parse_range(header, size)


def test_md5_of_md5s_etag() -> None:
    from storage.s3.store import multipart_etag

    parts = [b"a" * 10, b"b" * 3]
    etags = [hashlib.md5(p).hexdigest() for p in parts]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert multipart_etag(etags) == f"{expected}-2"
