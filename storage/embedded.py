"""The embedded store, reached in-process by the process that serves it.

The catalog writes a metadata file on every commit and reads the manifest lists a commit names.
When the embedded store runs in the catalog's own process (`icefloe serve`, or each worker of
`serve --workers N`), going over loopback HTTP cost a SigV4-signed request to this very process
for each (a multipart upload of three requests for one small file, a HEAD before each GET).
`EmbeddedObjectStore` does the same operations on the store directly, through the rules the
HTTP endpoint applies: the key checks of `names`, the principal's authorization (`authz`: the
root, or a vended grant), and for a write the same durable blob, index transaction and
preconditions as PutObject (`Bucket.put`). A client reading or writing over S3 at the same time
sees exactly what it would have seen had the catalog come over HTTP: what is stored is what a
PutObject of the same bytes stores (ETag the MD5, the CRC32 checksum current SDKs attach,
content type application/octet-stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from storage.io import CONTENT_TYPE, ObjectExists, ObjectInfo, ObjectMissing
from storage.s3 import errors
from storage.s3.auth import Principal
from storage.s3.authz import Access, Touch, authorize
from storage.s3.checksums import Crc32, b64
from storage.s3.conditions import Preconditions
from storage.s3.index import ObjectAttrs
from storage.s3.names import check_key
from storage.s3.store import Bucket, ObjectStore

NEW_ONLY = Preconditions(if_none_match="*")
_PAGE = 1000
_S3_SCHEMES = ("s3", "s3a", "s3n")
_MISSING = (errors.NoSuchKey, errors.NoSuchBucket)


class StoreRefused(OSError):
    """The store refused an operation, as it would have answered it over HTTP."""

    def __init__(self, location: str, error: errors.S3Error) -> None:
        super().__init__(f"{location}: {error.code}: {error.message}")
        self.code = error.code


def split_location(location: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` location, as the S3 clients send it."""
    parts = urlsplit(location)
    if parts.scheme not in _S3_SCHEMES:
        raise ValueError(f"not an s3:// location: {location}")
    return parts.netloc, parts.path.removeprefix("/")


def object_attrs(data: bytes) -> ObjectAttrs:
    """What a PutObject of `data` by a current SDK (a CRC32 checksum, the content type the
    catalog sends) records besides the bytes."""
    crc = Crc32()
    crc.update(data)
    return ObjectAttrs(content_type=CONTENT_TYPE, checksum=("CRC32", b64(crc.digest())))


class EmbeddedObjectStore:
    """`storage.io.ObjectStore` over the embedded store of this process, acting as `principal`
    (the root by default, as the catalog's root keys would over HTTP)."""

    def __init__(self, store: ObjectStore, principal: Principal, *, max_object_size: int) -> None:
        self._store = store
        self._principal = principal
        self._max_object_size = max_object_size

    def _bucket(self, name: str, access: Access, key: str) -> Bucket:
        authorize(self._principal, [Touch(access, name, key)])
        return self._store.bucket(name)

    def write_new(self, location: str, data: bytes) -> None:
        name, key = split_location(location)
        try:
            check_key(key)
            if len(data) > self._max_object_size:
                raise errors.EntityTooLarge()
            self._bucket(name, Access.WRITE, key).put(key, data, object_attrs(data), NEW_ONLY)
        except errors.PreconditionFailed as error:
            raise ObjectExists(location) from error
        except errors.S3Error as error:
            raise StoreRefused(location, error) from error

    def read(self, location: str) -> bytes:
        name, key = split_location(location)
        try:
            check_key(key)
            opened = self._bucket(name, Access.READ, key).open(key)
        except _MISSING as error:
            raise ObjectMissing(location) from error
        except errors.S3Error as error:
            raise StoreRefused(location, error) from error
        try:
            return opened.read(0, opened.row.size)
        finally:
            opened.close()

    def exists(self, location: str) -> bool:
        name, key = split_location(location)
        try:
            check_key(key)
            return self._bucket(name, Access.READ, key).index.get_object(key) is not None
        except _MISSING:
            return False
        except errors.S3Error as error:
            raise StoreRefused(location, error) from error

    def delete(self, location: str) -> None:
        name, key = split_location(location)
        try:
            check_key(key)
            self._bucket(name, Access.WRITE, key).delete(key)
        except errors.NoSuchBucket:
            return
        except errors.S3Error as error:
            raise StoreRefused(location, error) from error

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under the folder `prefix` names (as a recursive listing of it does)."""
        scheme = urlsplit(prefix).scheme
        name, folder = split_location(prefix)
        folder = folder.rstrip("/") + "/" if folder.strip("/") else ""
        try:
            bucket = self._bucket(name, Access.LIST, folder)
        except errors.NoSuchBucket:
            return
        except errors.S3Error as error:
            raise StoreRefused(prefix, error) from error
        after: bytes | None = None
        while True:
            page = bucket.list_objects(folder.encode("utf-8"), None, after, _PAGE)
            for row in page.contents:
                key = row.key.decode("utf-8")
                if not key.endswith("/"):  # a folder marker is no file
                    yield ObjectInfo(
                        f"{scheme}://{name}/{key}", row.size, row.last_modified_ns // 1_000_000
                    )
            if not page.truncated:
                return
            after = page.next_after

    def delete_prefix(self, prefix: str) -> int:
        files = [info.location for info in self.list(prefix)]
        for location in files:
            self.delete(location)
        return len(files)
