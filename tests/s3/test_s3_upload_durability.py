"""Which index commits of a multipart upload are fsynced.

A small file written by pyarrow (every file PyIceberg writes to the embedded store) is
CreateMultipartUpload + UploadPart + CompleteMultipartUpload. Only the Complete makes anything
visible, so only its commit must reach the disk before it answers; the upload and a new part,
lost in a power cut, make the client's next step fail instead of losing an object. What each
step ran is read from SQLite's own statement trace of the bucket's index connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.s3.index import ObjectAttrs, Segment
from storage.s3.store import Bucket, Multipart, ObjectStore
from storage.s3.xmlio import RequestedPart

RELAXED = "PRAGMA synchronous=NORMAL"


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[Bucket]:
    store = ObjectStore(tmp_path, fsync=True)
    store.startup()
    store.create_bucket("uploads")
    yield store.bucket("uploads")
    store.close()


@pytest.fixture
def statements(bucket: Bucket) -> list[str]:
    seen: list[str] = []
    bucket.index._conn.set_trace_callback(seen.append)
    return seen


def synchronous(bucket: Bucket) -> int:
    with bucket.index.read() as conn:
        return int(conn.execute("PRAGMA synchronous").fetchone()[0])


def part(bucket: Bucket, data: bytes) -> tuple[Segment, str]:
    writer = bucket.new_writer()
    writer.write(data)
    return Segment(writer.commit(), len(data)), hashlib.md5(data).hexdigest()


def commits(statements: list[str]) -> list[bool]:
    """For each COMMIT traced: True when it ran relaxed (not fsynced)."""
    relaxed, found = False, []
    for statement in statements:
        if statement == RELAXED:
            relaxed = True
        elif statement == "PRAGMA synchronous=FULL":
            relaxed = False
        elif statement == "COMMIT":
            found.append(relaxed)
    return found


def test_create_and_a_new_part_are_not_fsynced_and_complete_is(
    bucket: Bucket, statements: list[str]
) -> None:
    multipart = Multipart(bucket)
    upload = multipart.create("k", ObjectAttrs())
    segment, etag = part(bucket, b"data")
    multipart.commit_part(upload, "k", 1, segment, etag, None)
    assert commits(statements) == [True, True]
    multipart.complete(upload, "k", [RequestedPart(1, etag, {})], None)
    assert commits(statements) == [True, True, False]
    assert synchronous(bucket) == 2  # FULL again for every other write
    assert bucket.get("k").size == 4


def test_a_part_sent_again_replaces_the_old_one_durably(
    bucket: Bucket, statements: list[str]
) -> None:
    multipart = Multipart(bucket)
    upload = multipart.create("k", ObjectAttrs())
    first, etag = part(bucket, b"same")
    multipart.commit_part(upload, "k", 1, first, etag, None)
    statements.clear()
    again, etag = part(bucket, b"same")
    multipart.commit_part(upload, "k", 1, again, etag, None)
    # The relaxed attempt finds the part and writes nothing; the replacement is fsynced
    # before the first blob is unlinked.
    assert commits(statements) == [True, False]
    assert not bucket.blobs.path(first.blob).exists()
    multipart.complete(upload, "k", [RequestedPart(1, etag, {})], None)
    opened = bucket.open("k")
    try:
        assert opened.read(0, 4) == b"same"
    finally:
        opened.close()


def test_put_object_and_delete_stay_fsynced(bucket: Bucket, statements: list[str]) -> None:
    bucket.put("k", b"data", ObjectAttrs(), None)
    bucket.delete("k")
    assert RELAXED not in statements
    assert commits(statements) == [False, False]
