"""How the catalog reads and writes objects, whatever the backend.

Backends are pyarrow filesystems (local disk, or any S3-compatible endpoint: the embedded
one, Cloudflare R2, AWS S3, MinIO). New metadata files are written with `write_new`, which never
replaces an existing object: on local disk through an exclusive hard link after an fsync (pyarrow
does not fsync, and a catalog must not acknowledge a commit whose file a power cut could lose);
on S3 a PUT is atomic and the names carry a UUID.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from pyarrow import fs as pafs


class ObjectExists(Exception):
    """`write_new` found an object already at that location."""


class ObjectMissing(Exception):
    """No object at that location."""


@dataclass(frozen=True)
class ObjectInfo:
    location: str
    size: int
    modified_ms: int


class ObjectStore(Protocol):
    def write_new(self, location: str, data: bytes) -> None: ...
    def read(self, location: str) -> bytes: ...
    def exists(self, location: str) -> bool: ...
    def delete(self, location: str) -> None: ...
    def list(self, prefix: str) -> Iterator[ObjectInfo]: ...
    def delete_prefix(self, prefix: str) -> int: ...


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def local_path(location: str) -> Path:
    parts = urlsplit(location)
    if parts.scheme != "file":
        raise ValueError(f"not a file:// location: {location}")
    return Path(unquote(parts.path))


class LocalObjectStore:
    """Objects as files under `file://` locations."""

    def write_new(self, location: str, data: bytes) -> None:
        target = local_path(location)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError as error:
            raise ObjectExists(location) from error
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(target.parent)

    def read(self, location: str) -> bytes:
        try:
            return local_path(location).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise ObjectMissing(location) from error

    def exists(self, location: str) -> bool:
        return local_path(location).is_file()

    def delete(self, location: str) -> None:
        local_path(location).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        root = local_path(prefix)
        if not root.is_dir():
            return
        for directory, _, files in os.walk(root):
            for name in sorted(files):
                path = Path(directory) / name
                stat = path.stat()
                yield ObjectInfo(path.as_uri(), stat.st_size, int(stat.st_mtime * 1000))

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        for info in list(self.list(prefix)):
            self.delete(info.location)
            deleted += 1
        root = local_path(prefix)
        if root.is_dir():
            for directory, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
                with contextlib.suppress(OSError):
                    Path(directory).rmdir()
        return deleted


class S3ObjectStore:
    """Objects in an S3-compatible bucket, through pyarrow's S3 filesystem."""

    def __init__(self, profile: Mapping[str, Any]) -> None:
        endpoint = profile.get("endpoint")
        options: dict[str, Any] = {
            "access_key": profile.get("access-key-id"),
            "secret_key": profile.get("secret-access-key"),
            "session_token": profile.get("session-token"),
            "region": profile.get("region", "auto"),
            "allow_bucket_creation": False,
            "allow_bucket_deletion": False,
        }
        if endpoint:
            parts = urlsplit(endpoint)
            options["endpoint_override"] = parts.netloc or endpoint
            options["scheme"] = parts.scheme or "https"
            options["force_virtual_addressing"] = not profile.get("path-style-access", True)
        self._fs = pafs.S3FileSystem(**options)

    @staticmethod
    def _path(location: str) -> str:
        parts = urlsplit(location)
        if parts.scheme not in ("s3", "s3a", "s3n"):
            raise ValueError(f"not an s3:// location: {location}")
        return f"{parts.netloc}{parts.path}"

    def write_new(self, location: str, data: bytes) -> None:
        with self._fs.open_output_stream(self._path(location)) as stream:
            stream.write(data)

    def read(self, location: str) -> bytes:
        try:
            with self._fs.open_input_stream(self._path(location)) as stream:
                return bytes(stream.readall())
        except FileNotFoundError as error:
            raise ObjectMissing(location) from error

    def exists(self, location: str) -> bool:
        info = self._fs.get_file_info(self._path(location))
        return bool(info.type == pafs.FileType.File)

    def delete(self, location: str) -> None:
        try:
            self._fs.delete_file(self._path(location))
        except FileNotFoundError:
            return

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        scheme = urlsplit(prefix).scheme
        selector = pafs.FileSelector(
            self._path(prefix).rstrip("/"), recursive=True, allow_not_found=True
        )
        for info in self._fs.get_file_info(selector):
            if info.type == pafs.FileType.File:
                modified = info.mtime_ns // 1_000_000 if info.mtime_ns else 0
                yield ObjectInfo(f"{scheme}://{info.path}", info.size or 0, modified)

    def delete_prefix(self, prefix: str) -> int:
        files = [info.location for info in self.list(prefix)]
        for location in files:
            self.delete(location)
        return len(files)


def object_store_for(location: str, profile: Mapping[str, Any]) -> ObjectStore:
    """The store that serves `location`, configured by a warehouse's storage profile."""
    scheme = urlsplit(location).scheme
    if scheme == "file":
        return LocalObjectStore()
    if scheme in ("s3", "s3a", "s3n"):
        return S3ObjectStore(profile)
    raise ValueError(f"unsupported storage scheme: {scheme or location!r}")
