"""Which access each S3 operation needs, and whether a principal has it.

The privilege model is data (OPERATION_ACCESS), in one place, so a test can walk every
operation.  Root may do anything; a temporary credential is confined to its bucket,
its prefixes and its permission, and never touches bucket-level state.
"""

from __future__ import annotations

from enum import Enum

from storage.s3 import errors
from storage.s3.auth import Principal


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
}


def authorize(
    principal: Principal,
    access: Access,
    bucket: str | None,
    *,
    key: str | None = None,
    list_prefix: str | None = None,
) -> None:
    """Raise AccessDenied unless `principal` may perform `access` on bucket/key."""
    grant = principal.grant
    if grant is None:
        return
    if access is Access.ROOT or bucket is None or bucket != grant.bucket:
        raise errors.AccessDenied()
    if access is Access.BUCKET:
        return
    if access is Access.LIST:
        if not grant.covers_listing(list_prefix or ""):
            raise errors.AccessDenied()
        return
    if access is Access.WRITE_EACH:
        if not grant.can_write:
            raise errors.AccessDenied()
        return
    if key is None or not grant.covers_key(key):
        raise errors.AccessDenied()
    if access is Access.WRITE and not grant.can_write:
        raise errors.AccessDenied()
