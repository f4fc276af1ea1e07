"""Several stores on one data directory, as the workers of `icefloe serve --workers N` run it:
each sees what the others wrote, a bucket deleted or replaced by one is gone or new in the
others, and only a store that is alone sweeps leftovers."""

from __future__ import annotations

from pathlib import Path

from storage.s3.index import ObjectAttrs, Segment
from storage.s3.store import Bucket, ObjectStore


def put(bucket: Bucket, key: str, body: bytes) -> None:
    writer = bucket.new_writer()
    writer.write(body)
    blob = writer.commit()
    bucket.commit_object(key, (Segment(blob, len(body)),), "etag", ObjectAttrs(), None)


def read(store: ObjectStore, bucket: str, key: str) -> bytes:
    opened = store.bucket(bucket).open(key)
    try:
        return opened.read(0, opened.row.size)
    finally:
        opened.close()


def test_a_bucket_replaced_by_another_store_is_the_new_one_here(tmp_path: Path) -> None:
    first, second = ObjectStore(tmp_path, fsync=False), ObjectStore(tmp_path, fsync=False)
    first.startup()
    second.startup()
    first.create_bucket("shared")
    put(first.bucket("shared"), "k", b"old")
    assert read(second, "shared", "k") == b"old"  # `second` now holds the bucket open

    first.bucket("shared").delete("k")
    first.delete_bucket("shared")
    first.create_bucket("shared")
    put(first.bucket("shared"), "k", b"new")

    assert read(second, "shared", "k") == b"new"
    put(second.bucket("shared"), "from-second", b"2")
    assert read(first, "shared", "from-second") == b"2"
    first.close()
    second.close()


def test_a_bucket_deleted_by_another_store_is_gone_here(tmp_path: Path) -> None:
    first, second = ObjectStore(tmp_path, fsync=False), ObjectStore(tmp_path, fsync=False)
    first.startup()
    second.startup()
    first.create_bucket("gone")
    assert [b.name for b in second.list_buckets()] == ["gone"]
    first.delete_bucket("gone")
    assert second.list_buckets() == []
    first.close()
    second.close()


def test_only_a_store_alone_on_the_data_dir_sweeps(tmp_path: Path) -> None:
    first = ObjectStore(tmp_path, fsync=False)
    first.startup()
    first.create_bucket("bkt")
    writer = first.bucket("bkt").new_writer()
    writer.write(b"in flight")  # an upload another worker is receiving

    beside = ObjectStore(tmp_path, fsync=False)
    assert beside.startup() == 0
    beside.close()
    first.close()
    alone = ObjectStore(tmp_path, fsync=False)
    assert alone.startup() == 1
    alone.close()
