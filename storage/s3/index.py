"""The per-bucket index: one SQLite database mapping keys to blobs and metadata.

SQLite gives what a directory tree cannot: keys sorted by their UTF-8 bytes (keys are
stored as BLOBs, so ordering is byte order, as S3 lists), range scans for prefix and
delimiter listings over 100k+ objects, and an atomic commit point that makes a PUT,
a CopyObject or a CompleteMultipartUpload visible all at once or not at all.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    key BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ns INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    segments TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    key BLOB NOT NULL,
    initiated_ns INTEGER NOT NULL,
    attrs TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (key, initiated_ns);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ns INTEGER NOT NULL,
    blob TEXT NOT NULL,
    checksum TEXT,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Segment:
    blob: str
    size: int


@dataclass(frozen=True)
class ObjectAttrs:
    """What a client set on an object besides its bytes."""

    content_type: str | None = None
    system: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    checksum: tuple[str, str] | None = None
    """(algorithm, base64 value) of the stored object's x-amz-checksum-*."""
    checksum_type: str | None = None
    """FULL_OBJECT or COMPOSITE (multipart: a checksum of the part checksums, `…-N`)."""
    parts_count: int | None = None
    checksum_algorithm: str | None = None
    """On an upload: the x-amz-checksum-algorithm declared by CreateMultipartUpload."""
    upload_id: str | None = None
    """On a completed multipart object: its upload, so a retried Complete can answer 200."""

    def to_json(self) -> str:
        data: dict[str, object] = {"s": self.system, "m": self.metadata}
        if self.content_type is not None:
            data["t"] = self.content_type
        if self.checksum is not None:
            data["c"] = list(self.checksum)
        if self.checksum_type is not None:
            data["ct"] = self.checksum_type
        if self.parts_count is not None:
            data["n"] = self.parts_count
        if self.checksum_algorithm is not None:
            data["ca"] = self.checksum_algorithm
        if self.upload_id is not None:
            data["u"] = self.upload_id
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> ObjectAttrs:
        data = json.loads(text)
        checksum = data.get("c")
        return ObjectAttrs(
            content_type=data.get("t"),
            system=dict(data.get("s", {})),
            metadata=dict(data.get("m", {})),
            checksum=(str(checksum[0]), str(checksum[1])) if checksum else None,
            checksum_type=data.get("ct"),
            parts_count=data.get("n"),
            checksum_algorithm=data.get("ca"),
            upload_id=data.get("u"),
        )


@dataclass(frozen=True)
class ObjectRow:
    key: str
    size: int
    etag: str
    last_modified_ns: int
    attrs: ObjectAttrs
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class ListedObject:
    key: bytes
    size: int
    etag: str
    last_modified_ns: int


@dataclass(frozen=True)
class UploadRow:
    upload_id: str
    key: str
    initiated_ns: int
    attrs: ObjectAttrs


@dataclass(frozen=True)
class PartRow:
    part_number: int
    size: int
    etag: str
    last_modified_ns: int
    blob: str
    checksum: str | None


def encode_segments(segments: tuple[Segment, ...]) -> str:
    return json.dumps([[s.blob, s.size] for s in segments], separators=(",", ":"))


def decode_segments(text: str) -> tuple[Segment, ...]:
    return tuple(Segment(str(blob), int(size)) for blob, size in json.loads(text))


def _object_row(row: sqlite3.Row | tuple[object, ...]) -> ObjectRow:
    key, size, etag, lm, attrs, segments = row
    assert isinstance(key, bytes)
    return ObjectRow(
        key=key.decode("utf-8"),
        size=int(str(size)),
        etag=str(etag),
        last_modified_ns=int(str(lm)),
        attrs=ObjectAttrs.from_json(str(attrs)),
        segments=decode_segments(str(segments)),
    )


class BucketIndex:
    """One bucket's SQLite database, shared by the event loop's worker threads.

    A single connection guarded by a lock keeps the transaction discipline obvious;
    every statement is short, and WAL mode lets other processes read concurrently.
    """

    def __init__(self, path: Path, *, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: conditions checked inside it hold at commit.

        `durable=False` is for steps whose loss in a power cut is answered, not hidden: an
        upload's creation and its parts. Their COMMIT is not fsynced (SQLite's WAL at
        `synchronous=NORMAL`: still atomic, and consistent after a crash). A lost upload or
        part makes the client's next UploadPart or its Complete fail (NoSuchUpload,
        InvalidPart); nothing acknowledged as stored is lost, because every durable commit
        (PutObject, CompleteMultipartUpload, deletes) fsyncs the log, and with it every
        commit before it. A small file written by pyarrow (every Parquet file, manifest and
        manifest list PyIceberg writes) is Create + UploadPart + Complete: one log fsync
        instead of three, as many as a PutObject."""
        relaxed = self._fsync and not durable
        with self._lock:
            if relaxed:
                self._conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            finally:
                if relaxed:
                    self._conn.execute("PRAGMA synchronous=FULL")

    # --- meta ---------------------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        with self.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    # --- objects ------------------------------------------------------------------------

    def get_object(self, key: str) -> ObjectRow | None:
        with self.read() as conn:
            return self.get_object_in(conn, key)

    @staticmethod
    def get_object_in(conn: sqlite3.Connection, key: str) -> ObjectRow | None:
        row = conn.execute(
            "SELECT key, size, etag, last_modified_ns, attrs, segments FROM objects WHERE key = ?",
            (key.encode("utf-8"),),
        ).fetchone()
        return None if row is None else _object_row(row)

    @staticmethod
    def put_object_in(conn: sqlite3.Connection, row: ObjectRow) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO objects (key, size, etag, last_modified_ns, attrs, segments)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                row.key.encode("utf-8"),
                row.size,
                row.etag,
                row.last_modified_ns,
                row.attrs.to_json(),
                encode_segments(row.segments),
            ),
        )

    @staticmethod
    def delete_object_in(conn: sqlite3.Connection, key: str) -> None:
        conn.execute("DELETE FROM objects WHERE key = ?", (key.encode("utf-8"),))

    def has_objects(self) -> bool:
        with self.read() as conn:
            return conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is not None

    def scan(
        self, lower: bytes, inclusive: bool, upper: bytes | None, limit: int
    ) -> list[ListedObject]:
        """Objects with lower </<= key < upper in byte order, at most `limit` of them."""
        op = ">=" if inclusive else ">"
        sql = f"SELECT key, size, etag, last_modified_ns FROM objects WHERE key {op} ?"  # noqa: S608
        params: list[object] = [lower]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += " ORDER BY key LIMIT ?"
        params.append(limit)
        with self.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [ListedObject(bytes(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

    def referenced_blobs(self) -> set[str]:
        blobs: set[str] = set()
        with self.read() as conn:
            for (segments,) in conn.execute("SELECT segments FROM objects"):
                blobs.update(s.blob for s in decode_segments(str(segments)))
            for (blob,) in conn.execute("SELECT blob FROM parts"):
                blobs.add(str(blob))
        return blobs

    # --- multipart ----------------------------------------------------------------------

    def create_upload(self, upload: UploadRow) -> None:
        with self.write(durable=False) as conn:
            conn.execute(
                "INSERT INTO uploads (upload_id, key, initiated_ns, attrs) VALUES (?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.key.encode("utf-8"),
                    upload.initiated_ns,
                    upload.attrs.to_json(),
                ),
            )

    @staticmethod
    def get_upload_in(conn: sqlite3.Connection, upload_id: str) -> UploadRow | None:
        row = conn.execute(
            "SELECT upload_id, key, initiated_ns, attrs FROM uploads WHERE upload_id = ?",
            (upload_id,),
        ).fetchone()
        if row is None:
            return None
        return UploadRow(
            str(row[0]), bytes(row[1]).decode("utf-8"), int(row[2]), ObjectAttrs.from_json(row[3])
        )

    def get_upload(self, upload_id: str) -> UploadRow | None:
        with self.read() as conn:
            return self.get_upload_in(conn, upload_id)

    @staticmethod
    def parts_in(conn: sqlite3.Connection, upload_id: str) -> list[PartRow]:
        rows = conn.execute(
            "SELECT part_number, size, etag, last_modified_ns, blob, checksum FROM parts"
            " WHERE upload_id = ? ORDER BY part_number",
            (upload_id,),
        ).fetchall()
        return [PartRow(int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), r[5]) for r in rows]

    def list_parts(self, upload_id: str, after: int, limit: int) -> list[PartRow]:
        with self.read() as conn:
            rows = conn.execute(
                "SELECT part_number, size, etag, last_modified_ns, blob, checksum FROM parts"
                " WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
                (upload_id, after, limit),
            ).fetchall()
        return [PartRow(int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), r[5]) for r in rows]

    def list_uploads(
        self, prefix: bytes, after_key: bytes | None, after_upload: str | None, limit: int
    ) -> list[UploadRow]:
        sql = "SELECT upload_id, key, initiated_ns, attrs FROM uploads WHERE key >= ?"
        params: list[object] = [prefix]
        if prefix:
            sql += " AND key < ?"
            params.append(prefix + b"\xff")
        if after_key is not None:
            if after_upload:
                sql += " AND (key > ? OR (key = ? AND upload_id > ?))"
                params += [after_key, after_key, after_upload]
            else:
                sql += " AND key > ?"
                params.append(after_key)
        sql += " ORDER BY key, upload_id LIMIT ?"
        params.append(limit)
        with self.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [
            UploadRow(
                str(r[0]), bytes(r[1]).decode("utf-8"), int(r[2]), ObjectAttrs.from_json(r[3])
            )
            for r in rows
        ]
