"""How the catalog reads and writes objects, whatever the backend.

Backends are local disk and any S3-compatible endpoint (the embedded one, Cloudflare R2, AWS
S3, MinIO). New metadata files are written with `write_new`, which never
replaces an existing object: on local disk through an exclusive hard link after an fsync (pyarrow
does not fsync, and a catalog must not acknowledge a commit whose file a power cut could lose);
on S3 one PutObject with `If-None-Match: *` (the names carry a UUID besides). The embedded store
served by the catalog's own process is reached in-process instead (`storage.embedded`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from pyarrow import fs as pafs

CONTENT_TYPE = "application/octet-stream"  # what pyarrow's output streams sent


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
    """Objects in an S3-compatible bucket: one request per object operation (boto3), listings
    through pyarrow's S3 filesystem.

    pyarrow's output stream wrote even a small file as a multipart upload (three requests), its
    input stream sent a HEAD before each GET, and its delete a HEAD and a PUT of a folder marker
    after the DELETE. A metadata file is a single PutObject here, a read a single GetObject.
    """

    def __init__(self, profile: Mapping[str, Any]) -> None:
        self._profile = dict(profile)
        self._client: Any = None
        self._lock = threading.Lock()
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

    def _s3(self) -> Any:
        """The boto3 client, built on first use (slow to build, thread-safe once built)."""
        with self._lock:
            if self._client is None:
                self._client = s3_client(self._profile)
            return self._client

    @staticmethod
    def _object(location: str) -> dict[str, str]:
        bucket, _, key = S3ObjectStore._path(location).partition("/")
        return {"Bucket": bucket, "Key": key}

    def write_new(self, location: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().put_object(
                **self._object(location), Body=data, ContentType=CONTENT_TYPE, IfNoneMatch="*"
            )
        except ClientError as error:
            if _status(error) not in (409, 412):
                raise OSError(f"PutObject {location}: {_code(error)}") from error
            # A PUT whose answer was lost and that was sent again finds its own object.
            retried = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            if retried and self._holds(location, data):
                return
            raise ObjectExists(location) from error
        except BotoCoreError as error:
            raise OSError(f"PutObject {location}: {error}") from error

    def _holds(self, location: str, data: bytes) -> bool:
        try:
            return self.read(location) == data
        except (ObjectMissing, OSError):
            return False

    def read(self, location: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._s3().get_object(**self._object(location))
            return bytes(response["Body"].read())
        except ClientError as error:
            if _status(error) == 404:
                raise ObjectMissing(location) from error
            raise OSError(f"GetObject {location}: {_code(error)}") from error
        except BotoCoreError as error:
            raise OSError(f"GetObject {location}: {error}") from error

    def exists(self, location: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().head_object(**self._object(location))
        except ClientError as error:
            if _status(error) == 404:
                return False
            raise OSError(f"HeadObject {location}: {_code(error)}") from error
        except BotoCoreError as error:
            raise OSError(f"HeadObject {location}: {error}") from error
        return True

    def delete(self, location: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().delete_object(**self._object(location))
        except ClientError as error:
            if _status(error) == 404:
                return
            raise OSError(f"DeleteObject {location}: {_code(error)}") from error
        except BotoCoreError as error:
            raise OSError(f"DeleteObject {location}: {error}") from error

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


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", _status(error)))


_session: Any = None
_session_lock = threading.Lock()


def s3_client(profile: Mapping[str, Any]) -> Any:
    """A boto3 S3 client for a storage profile, addressed as pyarrow addresses it.

    Clients come from one session per process, which loads the S3 service model once: a new
    session per client cost ~90 ms of CPU, a client from a loaded session ~7 ms (a table's
    maintenance opens one per vended credential). Sessions are not thread-safe; clients are.
    """
    global _session
    import boto3
    from botocore.config import Config

    endpoint = profile.get("endpoint")
    addressing = "auto"
    if endpoint:
        addressing = "path" if profile.get("path-style-access", True) else "virtual"
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=profile.get("access-key-id"),
            aws_secret_access_key=profile.get("secret-access-key"),
            aws_session_token=profile.get("session-token"),
            region_name=profile.get("region", "auto"),
            config=Config(
                s3={"addressing_style": addressing},
                connect_timeout=10,
                read_timeout=30,
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=32,
            ),
        )


def object_store_for(location: str, profile: Mapping[str, Any]) -> ObjectStore:
    """The store that serves `location`, configured by a warehouse's storage profile."""
    scheme = urlsplit(location).scheme
    if scheme == "file":
        return LocalObjectStore()
    if scheme in ("s3", "s3a", "s3n"):
        return S3ObjectStore(profile)
    raise ValueError(f"unsupported storage scheme: {scheme or location!r}")
