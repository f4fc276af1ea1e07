"""What an S3 request touches: its operation, and every bucket, key and listing prefix it
reads or writes, read from the request exactly as the store reads it.

This is the one reading of a request: the store authorises what `request_scope` returns, and
the catalog's remote signer checks the same answer before it signs. A signer with its own parser
(last `prefix` wins, `..` tolerated in a prefix, keys in a DeleteObjects body unchecked, a copy
source ignored) signs requests the store then reads differently; with one function there is no
second reading to disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.s3 import errors
from storage.s3.authz import OPERATION_ACCESS, Access, Touch
from storage.s3.request import S3Request, parse_copy_source
from storage.s3.xmlio import parse_delete

_COPIES = frozenset({"CopyObject", "UploadPartCopy"})
_CORS = {"PUT": "PutBucketCors", "GET": "GetBucketCors", "DELETE": "DeleteBucketCors"}


@dataclass(frozen=True)
class RequestScope:
    operation: str
    touches: tuple[Touch, ...]

    @property
    def needs_body(self) -> bool:
        """DeleteObjects before its body is read: its keys are not known yet."""
        return any(touch.access is Access.WRITE_EACH for touch in self.touches)


def request_scope(request: S3Request, body: bytes | None = None) -> RequestScope:
    """Everything `request` touches. DeleteObjects names its keys in the body: without `body`
    the answer holds one bucket-wide WRITE_EACH, with it one WRITE per key."""
    operation = operation_name(request)
    access = OPERATION_ACCESS[operation]
    bucket = request.bucket
    touches: list[Touch]
    if access is Access.LIST:
        touches = [Touch(access, bucket, request.query.get("prefix", ""))]
    elif access is Access.WRITE_EACH:
        if body is None:
            touches = [Touch(access, bucket)]
        else:
            touches = [Touch(Access.WRITE, bucket, key) for key in parse_delete(body)[0]]
    elif access in (Access.ROOT, Access.BUCKET):
        touches = [Touch(access, bucket)]
    else:
        touches = [Touch(access, bucket, request.key)]
        if operation in _COPIES:
            source = parse_copy_source(request.headers.get("x-amz-copy-source") or "")
            touches.append(Touch(Access.READ, *source))
    return RequestScope(operation, tuple(touches))


# Subresources of the S3 API that R2 (and we) do not implement.
UNSUPPORTED = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging", "metrics",
        "notification", "object-lock", "ownershipControls", "policy", "policyStatus",
        "publicAccessBlock", "replication", "requestPayment", "restore", "retention",
        "select", "tagging", "torrent", "versioning", "versions", "website",
    }
)  # fmt: skip


def operation_name(request: S3Request) -> str:
    method, query = request.method, request.query
    if request.bucket is None:
        if method == "GET":
            return "ListBuckets"
        raise errors.MethodNotAllowed()
    unsupported = UNSUPPORTED.intersection(query)
    if unsupported:
        raise errors.NotImplementedError_(
            f"The {sorted(unsupported)[0]} subresource is not implemented."
        )
    if request.key is None:
        if "cors" in query and method in _CORS:
            return _CORS[method]
        if method == "GET":
            if "location" in query:
                return "GetBucketLocation"
            if "uploads" in query:
                return "ListMultipartUploads"
            return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
        if method == "PUT":
            return "CreateBucket"
        if method == "HEAD":
            return "HeadBucket"
        if method == "DELETE":
            return "DeleteBucket"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        raise errors.MethodNotAllowed()
    if method == "GET":
        return "ListParts" if "uploadId" in query else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        copy = request.headers.get("x-amz-copy-source") is not None
        if "uploadId" in query or "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
    raise errors.MethodNotAllowed()
