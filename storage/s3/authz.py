"""Which access each S3 operation needs, and whether a principal has it.

The privilege model is data (OPERATION_ACCESS), in one place, so a test can walk every
operation.  Root may do anything; a temporary credential is confined to its bucket,
its prefixes and its permission, and never touches bucket-level state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from storage.s3 import errors
from storage.s3.auth import Principal
from storage.s3.credentials import Grant


class Access(Enum):
    ROOT = "root"
    """Account-level: creating, deleting or listing buckets."""
    BUCKET = "bucket"
    """Reading facts about the credential's own bucket (HeadBucket, GetBucketLocation)."""
    LIST = "list"
    """Listing keys; the `prefix` must lie inside a granted prefix."""
    READ = "read"
    WRITE = "write"
    WRITE_EACH = "write-each"
    """A batch write (DeleteObjects): the request needs write permission on the bucket,
    and the handler authorises every key it names with WRITE."""


OPERATION_ACCESS: dict[str, Access] = {
    "ListBuckets": Access.ROOT,
    "CreateBucket": Access.ROOT,
    "DeleteBucket": Access.ROOT,
    "HeadBucket": Access.BUCKET,
    "GetBucketLocation": Access.BUCKET,
    "ListObjects": Access.LIST,
    "ListObjectsV2": Access.LIST,
    "ListMultipartUploads": Access.LIST,
    "GetObject": Access.READ,
    "HeadObject": Access.READ,
    "ListParts": Access.READ,
    "PutObject": Access.WRITE,
    "CopyObject": Access.WRITE,
    "DeleteObject": Access.WRITE,
    "DeleteObjects": Access.WRITE_EACH,
    "CreateMultipartUpload": Access.WRITE,
    "UploadPart": Access.WRITE,
    "UploadPartCopy": Access.WRITE,
    "CompleteMultipartUpload": Access.WRITE,
    "AbortMultipartUpload": Access.WRITE,
    "PutBucketCors": Access.ROOT,
    "GetBucketCors": Access.ROOT,
    "DeleteBucketCors": Access.ROOT,
}


@dataclass(frozen=True)
class Touch:
    """One thing a request acts on (see `storage.s3.scope.request_scope`): `key` is the object
    for READ and WRITE, the listing prefix for LIST, None for account- and bucket-level access."""

    access: Access
    bucket: str | None
    key: str | None = None


def permits(grant: Grant | None, touch: Touch) -> bool:
    """Whether a credential confined to `grant` (None: root) may do `touch`."""
    if grant is None:
        return True
    if touch.access is Access.ROOT or touch.bucket is None or touch.bucket != grant.bucket:
        return False
    if touch.access is Access.BUCKET:
        return True
    if touch.access is Access.LIST:
        return grant.covers_listing(touch.key or "")
    if touch.access is Access.WRITE_EACH:
        return grant.can_write
    if touch.key is None or not grant.covers_key(touch.key):
        return False
    return touch.access is Access.READ or grant.can_write


def authorize(principal: Principal, touches: Iterable[Touch]) -> None:
    """Raise AccessDenied unless `principal` may do every one of `touches`."""
    if not all(permits(principal.grant, touch) for touch in touches):
        raise errors.AccessDenied()
