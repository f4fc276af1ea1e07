"""Object bytes on disk: one immutable file per blob, named by a random id, never by key.

Keys never become paths, so no key (`../x`, `a/../../b`, `a` next to `a/b`, 1 KiB of
slashes) can escape or collide on the filesystem.  A blob is written to `tmp/`,
fsynced, then renamed into `blobs/<aa>/<id>`; it only becomes an object when the
index commits a row naming it, so a crash leaves at most an unreferenced file, which
`sweep` removes on the next start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

_COPY_CHUNK = 8 * 1024 * 1024


def new_blob_id() -> str:
    return secrets.token_hex(16)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobWriter:
    """A temp file being filled; `commit` makes it a durable, immutable blob."""

    def __init__(self, blobs: BlobDir) -> None:
        self._blobs = blobs
        self.blob_id = new_blob_id()
        self._tmp_path = blobs.tmp_dir / f"{self.blob_id}.part"
        self._fd: int | None = os.open(
            self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
        )
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)

    def commit(self) -> str:
        assert self._fd is not None
        try:
            if self._blobs.fsync:
                os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
        final = self._blobs.path(self.blob_id)
        self._blobs.ensure_shard(final.parent)
        self._tmp_path.rename(final)
        if self._blobs.fsync:
            _fsync_dir(final.parent)
        return self.blob_id

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            self._tmp_path.unlink()


class BlobDir:
    """The blob files of one bucket."""

    def __init__(self, bucket_dir: Path, *, fsync: bool) -> None:
        self.root = bucket_dir / "blobs"
        self.tmp_dir = bucket_dir / "tmp"
        self.fsync = fsync

    def create_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id

    def ensure_shard(self, shard: Path) -> None:
        """Create a fan-out directory; a new one is made durable in its parent too."""
        try:
            shard.mkdir()
        except FileExistsError:
            return
        if self.fsync:
            _fsync_dir(shard.parent)

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def link_from(self, source: Path) -> str:
        """Give an existing blob (maybe of another bucket) a new name here: a zero-copy copy.

        Blobs are immutable, so sharing an inode is safe; each name is unlinked on its own.
        """
        blob_id = new_blob_id()
        target = self.path(blob_id)
        self.ensure_shard(target.parent)
        try:
            os.link(source, target)
        except FileNotFoundError:
            raise
        except OSError:
            self._copy(source, target)
        if self.fsync:
            _fsync_dir(target.parent)
        return blob_id

    def _copy(self, source: Path, target: Path) -> None:
        tmp = self.tmp_dir / f"{new_blob_id()}.part"
        with source.open("rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(_COPY_CHUNK):
                dst.write(chunk)
            dst.flush()
            if self.fsync:
                os.fsync(dst.fileno())
        tmp.rename(target)

    def unlink(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            with contextlib.suppress(FileNotFoundError):
                self.path(blob_id).unlink()

    def sweep(self, referenced: set[str]) -> int:
        """Delete temp files and blobs no index row names; only safe with no other writer."""
        removed = 0
        if self.tmp_dir.is_dir():
            for entry in os.scandir(self.tmp_dir):
                with contextlib.suppress(FileNotFoundError):
                    Path(entry.path).unlink()
                    removed += 1
        if self.root.is_dir():
            for shard in os.scandir(self.root):
                if not shard.is_dir():
                    continue
                for entry in os.scandir(shard.path):
                    if entry.name not in referenced:
                        with contextlib.suppress(FileNotFoundError):
                            Path(entry.path).unlink()
                            removed += 1
        return removed
