"""The object store: buckets, objects and multipart uploads on the local filesystem.

Layout under the data dir:

    buckets/<bucket>/index.sqlite3   keys, metadata, upload and part records (see `index`)
    buckets/<bucket>/blobs/<aa>/<id>  immutable object/part bytes (see `blobs`)
    buckets/<bucket>/tmp/             bodies being received
    trash/                            buckets being deleted

Every change follows one order: bytes are made durable as a new blob first, then one
SQLite transaction makes them visible (checking preconditions inside it), then the
blobs it made unreachable are unlinked.  A crash at any point therefore leaves either
the old or the new state, plus garbage that `startup` sweeps.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import itertools
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage.s3 import errors
from storage.s3.blobs import BlobDir, BlobWriter
from storage.s3.checksums import composite, full_object_crc
from storage.s3.conditions import ObjectState, Preconditions
from storage.s3.index import (
    BucketIndex,
    ListedObject,
    ObjectAttrs,
    ObjectRow,
    PartRow,
    Segment,
    UploadRow,
)
from storage.s3.names import is_valid_bucket_name
from storage.s3.xmlio import RequestedPart

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
_OPEN_RETRIES = 5


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created_ns: int


@dataclass(frozen=True)
class ListResult:
    contents: list[ListedObject]
    common_prefixes: list[bytes]
    truncated: bool
    next_after: bytes | None
    """Exclusive lower bound to resume from (a key, or a common prefix + 0xFF)."""
    last_item: bytes | None
    """The last key or common prefix returned: ListObjects v1's NextMarker."""


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _state(row: ObjectRow | None) -> ObjectState | None:
    return None if row is None else ObjectState(row.etag, row.last_modified_ns)


class OpenObject:
    """An object's segments held open, so a concurrent overwrite cannot pull them away."""

    def __init__(self, row: ObjectRow, fds: list[int]) -> None:
        self.row = row
        self._fds = fds
        self._starts: list[int] = []
        offset = 0
        for segment in row.segments:
            self._starts.append(offset)
            offset += segment.size

    def read(self, offset: int, size: int) -> bytes:
        pieces: list[bytes] = []
        end = min(offset + size, self.row.size)
        for fd, start, segment in zip(self._fds, self._starts, self.row.segments, strict=True):
            seg_end = start + segment.size
            if seg_end <= offset or start >= end:
                continue
            lo = max(offset, start) - start
            hi = min(end, seg_end) - start
            while lo < hi:
                chunk = os.pread(fd, hi - lo, lo)
                if not chunk:
                    raise errors.InternalError("Object data is shorter than its index entry.")
                pieces.append(chunk)
                lo += len(chunk)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []


class Bucket:
    def __init__(self, name: str, path: Path, *, fsync: bool) -> None:
        self.name = name
        self.path = path
        self.index = BucketIndex(path / "index.sqlite3", fsync=fsync)
        self.blobs = BlobDir(path, fsync=fsync)
        self.identity = _identity(self.index.path)

    def is_current(self) -> bool:
        """Whether the index opened is still the bucket's: another process sharing the data dir
        may have deleted the bucket, or deleted it and created one of the same name."""
        return _identity(self.index.path) == self.identity

    # --- objects ------------------------------------------------------------------------

    def new_writer(self) -> BlobWriter:
        return self.blobs.writer()

    def get(self, key: str) -> ObjectRow:
        row = self.index.get_object(key)
        if row is None:
            raise errors.NoSuchKey(Key=key)
        return row

    def open(self, key: str) -> OpenObject:
        for _ in range(_OPEN_RETRIES):
            row = self.get(key)
            fds: list[int] = []
            try:
                for segment in row.segments:
                    fds.append(os.open(self.blobs.path(segment.blob), os.O_RDONLY | os.O_CLOEXEC))
            except FileNotFoundError:
                # Overwritten between the lookup and the open; look again.
                for fd in fds:
                    os.close(fd)
                continue
            return OpenObject(row, fds)
        raise errors.InternalError("The object kept changing while it was being opened.")

    def commit_object(
        self,
        key: str,
        segments: tuple[Segment, ...],
        etag: str,
        attrs: ObjectAttrs,
        conditions: Preconditions | None,
    ) -> ObjectRow:
        """Make new, already durable blobs the object at `key`, if `conditions` hold."""
        size = sum(s.size for s in segments)
        try:
            with self.index.write() as conn:
                old = self.index.get_object_in(conn, key)
                if conditions is not None:
                    conditions.check_write(_state(old))
                row = ObjectRow(key, size, etag, time.time_ns(), attrs, segments)
                self.index.put_object_in(conn, row)
        except BaseException:
            self.blobs.unlink(s.blob for s in segments)
            raise
        if old is not None:
            self.blobs.unlink(s.blob for s in old.segments)
        return row

    def put(
        self, key: str, data: bytes, attrs: ObjectAttrs, conditions: Preconditions | None
    ) -> ObjectRow:
        """PutObject of bytes already in memory (the catalog's own files, in-process): the
        same durable blob, the same index transaction and the same conditions as over HTTP."""
        writer = self.new_writer()
        try:
            writer.write(data)
            blob = writer.commit()
        except BaseException:
            writer.abort()
            raise
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return self.commit_object(key, (Segment(blob, len(data)),), etag, attrs, conditions)

    def delete(self, key: str) -> None:
        self.delete_many([key])

    def delete_many(self, keys: list[str]) -> None:
        """Delete keys in one transaction (one fsync for a whole DeleteObjects batch)."""
        removed: list[ObjectRow] = []
        with self.index.write() as conn:
            for key in keys:
                old = self.index.get_object_in(conn, key)
                if old is not None:
                    self.index.delete_object_in(conn, key)
                    removed.append(old)
        for old in removed:
            self.blobs.unlink(s.blob for s in old.segments)

    def link_segments(self, source: Bucket, row: ObjectRow) -> tuple[Segment, ...] | None:
        """New names here for another object's blobs; None if it was overwritten meanwhile."""
        made: list[Segment] = []
        try:
            for segment in row.segments:
                blob = self.blobs.link_from(source.blobs.path(segment.blob))
                made.append(Segment(blob, segment.size))
        except FileNotFoundError:
            self.blobs.unlink(s.blob for s in made)
            return None
        return tuple(made)

    def list_objects(
        self, prefix: bytes, delimiter: bytes | None, after: bytes | None, max_keys: int
    ) -> ListResult:
        """One page of a listing, rolling keys up into common prefixes at `delimiter`.

        Each common prefix costs one range query: after emitting `p/` we jump to the
        first key past `p/\\xff` (0xFF never occurs in UTF-8), so a prefix holding 100k
        keys is skipped, not scanned.
        """
        upper = prefix + b"\xff" if prefix else None
        if after is not None and after >= prefix:
            lower, inclusive = after, False
        else:
            lower, inclusive = prefix, True
        contents: list[ListedObject] = []
        prefixes: list[bytes] = []
        last_item: bytes | None = None
        resume: bytes | None = None
        batch = max(min(max_keys + 1, 1000), 1)
        while True:
            rows = self.index.scan(lower, inclusive, upper, batch)
            if not rows:
                return ListResult(contents, prefixes, False, None, last_item)
            jumped = False
            for row in rows:
                common: bytes | None = None
                if delimiter:
                    at = row.key.find(delimiter, len(prefix))
                    if at >= 0:
                        common = row.key[: at + len(delimiter)]
                if common is not None and common == after:
                    lower, inclusive, jumped = common + b"\xff", False, True
                    break
                if len(contents) + len(prefixes) >= max_keys:
                    # S3 never reports a truncated page for max-keys=0.
                    truncated = max_keys > 0
                    return ListResult(contents, prefixes, truncated, resume, last_item)
                if common is not None:
                    prefixes.append(common)
                    last_item, resume = common, common + b"\xff"
                    lower, inclusive, jumped = resume, False, True
                    break
                contents.append(row)
                last_item = resume = row.key
            if not jumped:
                if len(rows) < batch:
                    return ListResult(contents, prefixes, False, None, last_item)
                lower, inclusive = rows[-1].key, False


class ObjectStore:
    def __init__(self, data_dir: Path, *, fsync: bool = True) -> None:
        self.data_dir = data_dir
        self._buckets_dir = data_dir / "buckets"
        self._trash_dir = data_dir / "trash"
        self._fsync = fsync
        self._lock = threading.Lock()
        self._open: dict[str, Bucket] = {}
        self._lock_fd: int | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def startup(self) -> int:
        """Create the layout and, if no other process uses this data dir, sweep garbage.

        Returns how many leftover files were removed.  An exclusive flock on `.lock`
        proves we are alone; afterwards we hold it shared, so a later process never
        sweeps the temp files of our in-flight uploads.
        """
        self._buckets_dir.mkdir(parents=True, exist_ok=True)
        self._trash_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._lock_fd = fd
        removed = 0
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return 0
        try:
            removed = self._sweep()
        finally:
            fcntl.flock(fd, fcntl.LOCK_SH)
        return removed

    def _sweep(self) -> int:
        removed = 0
        for entry in os.scandir(self._trash_dir):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
        for entry in os.scandir(self._buckets_dir):
            if entry.name.startswith("."):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
                continue
            bucket = self._get(entry.name)
            if bucket is not None:
                removed += bucket.blobs.sweep(bucket.index.referenced_blobs())
        return removed

    def close(self) -> None:
        with self._lock:
            for bucket in self._open.values():
                bucket.index.close()
            self._open.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- buckets ------------------------------------------------------------------------

    def _get(self, name: str) -> Bucket | None:
        if not is_valid_bucket_name(name):
            return None
        with self._lock:
            bucket = self._open.get(name)
            if bucket is not None:
                if bucket.is_current():
                    return bucket
                self._open.pop(name)
                bucket.index.close()
            path = self._buckets_dir / name
            if not (path / "index.sqlite3").is_file():
                return None
            bucket = Bucket(name, path, fsync=self._fsync)
            self._open[name] = bucket
            return bucket

    def bucket(self, name: str) -> Bucket:
        bucket = self._get(name)
        if bucket is None:
            raise errors.NoSuchBucket(BucketName=name)
        return bucket

    def create_bucket(self, name: str) -> None:
        if not is_valid_bucket_name(name):
            raise errors.InvalidBucketName(BucketName=name)
        if (self._buckets_dir / name).exists():
            raise errors.BucketAlreadyOwnedByYou(BucketName=name)
        staging = self._buckets_dir / f".creating-{secrets.token_hex(8)}"
        staging.mkdir()
        try:
            index = BucketIndex(staging / "index.sqlite3", fsync=self._fsync)
            index.set_meta("created_ns", str(time.time_ns()))
            index.set_meta("name", name)
            index.close()
            BlobDir(staging, fsync=self._fsync).create_dirs()
            try:
                staging.rename(self._buckets_dir / name)
            except OSError as exc:
                raise errors.BucketAlreadyOwnedByYou(BucketName=name) from exc
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def delete_bucket(self, name: str) -> None:
        bucket = self.bucket(name)
        if bucket.index.has_objects():
            raise errors.BucketNotEmpty(BucketName=name)
        with self._lock:
            self._open.pop(name, None)
            bucket.index.close()
            doomed = self._trash_dir / f"{name}-{secrets.token_hex(8)}"
            bucket.path.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def list_buckets(self) -> list[BucketInfo]:
        result: list[BucketInfo] = []
        for entry in sorted(os.scandir(self._buckets_dir), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            bucket = self._get(entry.name)
            if bucket is None:
                continue
            created = bucket.index.get_meta("created_ns")
            result.append(BucketInfo(entry.name, int(created or 0)))
        return result

    # --- copy ---------------------------------------------------------------------------

    def copy_object(
        self,
        source: Bucket,
        source_key: str,
        target: Bucket,
        target_key: str,
        *,
        make_attrs: Callable[[ObjectRow], ObjectAttrs],
        source_conditions: Preconditions,
        target_conditions: Preconditions | None,
    ) -> ObjectRow:
        for _ in range(_OPEN_RETRIES):
            row = source.get(source_key)
            source_conditions.check_copy_source(ObjectState(row.etag, row.last_modified_ns))
            segments = target.link_segments(source, row)
            if segments is None:
                continue
            return target.commit_object(
                target_key, segments, row.etag, make_attrs(row), target_conditions
            )
        raise errors.InternalError("The source object kept changing while it was copied.")


# --- multipart ------------------------------------------------------------------------------


def multipart_etag(part_etags: list[str]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for etag in part_etags:
        digest.update(bytes.fromhex(etag))
    return f"{digest.hexdigest()}-{len(part_etags)}"


def split_part_checksum(stored: str | None) -> tuple[str, str] | None:
    """A part's stored checksum, `ALGORITHM:base64`, as (algorithm, base64)."""
    if not stored:
        return None
    algorithm, _, value = stored.partition(":")
    return algorithm, value


def _multipart_checksum(
    upload: ObjectAttrs, requested: list[RequestedPart], chosen: list[PartRow]
) -> tuple[str, str] | None:
    """The object checksum of a completed upload that declared an algorithm.

    As S3: the request must repeat each part's checksum, and it must be the one the
    part was uploaded with.  COMPOSITE is the checksum of the part checksums, `-N`;
    FULL_OBJECT (CRCs only) combines the part CRCs into the CRC of the whole object.
    """
    algorithm = upload.checksum_algorithm
    if algorithm is None:
        return None
    digests: list[tuple[bytes, int]] = []
    for wanted, part in zip(requested, chosen, strict=True):
        given = wanted.checksums.get(algorithm)
        stored = split_part_checksum(part.checksum)
        if given is None or stored is None:
            raise errors.InvalidRequest(
                f"The upload was created using a {algorithm.lower()} checksum. The complete"
                f" request must include the checksum for each part. It was missing for part"
                f" {part.part_number} in the request."
            )
        if stored != (algorithm, given):
            raise errors.InvalidPart(PartNumber=str(part.part_number), ETag=wanted.etag)
        digests.append((base64.b64decode(given), part.size))
    if upload.checksum_type == "FULL_OBJECT":
        return algorithm, full_object_crc(algorithm, digests)
    return algorithm, composite(algorithm, [d for d, _ in digests])


def _upload_in(bucket: Bucket, conn: sqlite3.Connection, upload_id: str, key: str) -> UploadRow:
    upload = bucket.index.get_upload_in(conn, upload_id)
    if upload is None or upload.key != key:
        raise errors.NoSuchUpload(UploadId=upload_id)
    return upload


class Multipart:
    """Multipart uploads of one bucket: parts are blobs; completing re-labels them.

    Completion does not copy bytes: the object's segments are the parts' blobs, so
    CompleteMultipartUpload is one transaction however large the object is.
    """

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def create(self, key: str, attrs: ObjectAttrs) -> str:
        upload_id = secrets.token_urlsafe(24)
        self.bucket.index.create_upload(UploadRow(upload_id, key, time.time_ns(), attrs))
        return upload_id

    def get(self, upload_id: str, key: str) -> UploadRow:
        upload = self.bucket.index.get_upload(upload_id)
        if upload is None or upload.key != key:
            raise errors.NoSuchUpload(UploadId=upload_id)
        return upload

    def commit_part(
        self,
        upload_id: str,
        key: str,
        part_number: int,
        segment: Segment,
        etag: str,
        checksum: str | None,
    ) -> None:
        """Record a part whose blob is durable. A new part number is recorded without an
        fsync of the index (`BucketIndex.write`): lost in a power cut, it makes Complete fail.
        A part number sent again replaces the row naming the old blob durably, before that
        blob is unlinked: a replacement lost after the unlink would name a missing blob."""
        index = self.bucket.index
        values = (upload_id, part_number, segment.size, etag, time.time_ns(), segment.blob)
        try:
            with index.write(durable=False) as conn:
                old = self._record_part(conn, values, checksum, key, replace=False)
            if old is not None:
                with index.write() as conn:
                    old = self._record_part(conn, values, checksum, key, replace=True)
        except BaseException:
            self.bucket.blobs.unlink([segment.blob])
            raise
        if old is not None:
            self.bucket.blobs.unlink([old.blob])

    def _record_part(
        self,
        conn: sqlite3.Connection,
        values: tuple[str, int, int, str, int, str],
        checksum: str | None,
        key: str,
        *,
        replace: bool,
    ) -> PartRow | None:
        """The part this one replaces, if any; written unless it replaces one and `replace`
        is False."""
        upload_id, part_number = values[0], values[1]
        _upload_in(self.bucket, conn, upload_id, key)
        old: PartRow | None = None
        for part in self.bucket.index.parts_in(conn, upload_id):
            if part.part_number == part_number:
                old = part
        if old is not None and not replace:
            return old
        conn.execute(
            "INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag,"
            " last_modified_ns, blob, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*values, checksum),
        )
        return old

    def complete(
        self,
        upload_id: str,
        key: str,
        requested: list[RequestedPart],
        conditions: Preconditions | None,
    ) -> ObjectRow:
        index = self.bucket.index
        if not requested:
            raise errors.MalformedXML()
        numbers = [p.number for p in requested]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise errors.InvalidPartOrder()
        with index.write() as conn:
            upload = index.get_upload_in(conn, upload_id)
            if upload is None or upload.key != key:
                # A retried Complete (its response was lost) answers as the first did,
                # while the object is still the result of this upload (S3, R2).
                current = index.get_object_in(conn, key)
                if current is not None and current.attrs.upload_id == upload_id:
                    return current
                raise errors.NoSuchUpload(UploadId=upload_id)
            parts = {p.part_number: p for p in index.parts_in(conn, upload_id)}
            chosen: list[PartRow] = []
            for wanted in requested:
                part = parts.get(wanted.number)
                if part is None or part.etag != wanted.etag.strip('"'):
                    raise errors.InvalidPart(PartNumber=str(wanted.number), ETag=wanted.etag)
                chosen.append(part)
            for part in chosen[:-1]:
                if part.size < MIN_PART_SIZE:
                    raise errors.EntityTooSmall(
                        ProposedSize=str(part.size), MinSizeAllowed=str(MIN_PART_SIZE)
                    )
            checksum = _multipart_checksum(upload.attrs, requested, chosen)
            old = index.get_object_in(conn, key)
            if conditions is not None:
                conditions.check_write(_state(old))
            attrs = ObjectAttrs(
                content_type=upload.attrs.content_type,
                system=upload.attrs.system,
                metadata=upload.attrs.metadata,
                checksum=checksum,
                checksum_type=None if checksum is None else upload.attrs.checksum_type,
                parts_count=len(chosen),
                upload_id=upload_id,
            )
            row = ObjectRow(
                key=key,
                size=sum(p.size for p in chosen),
                etag=multipart_etag([p.etag for p in chosen]),
                last_modified_ns=time.time_ns(),
                attrs=attrs,
                segments=tuple(Segment(p.blob, p.size) for p in chosen),
            )
            index.put_object_in(conn, row)
            conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        used = {p.blob for p in chosen}
        self.bucket.blobs.unlink(p.blob for p in parts.values() if p.blob not in used)
        if old is not None:
            self.bucket.blobs.unlink(s.blob for s in old.segments)
        return row

    def abort(self, upload_id: str, key: str) -> None:
        index = self.bucket.index
        with index.write() as conn:
            _upload_in(self.bucket, conn, upload_id, key)
            parts = index.parts_in(conn, upload_id)
            conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        self.bucket.blobs.unlink(p.blob for p in parts)
