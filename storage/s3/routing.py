"""Which S3 operation a request is, from its method, target and query subresources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage.s3 import errors, ops_buckets, ops_multipart, ops_objects
from storage.s3.context import Context
from storage.s3.request import S3Request
from storage.s3.response import Response

Handler = Callable[[Context], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": ops_buckets.list_buckets,
    "CreateBucket": ops_buckets.create_bucket,
    "DeleteBucket": ops_buckets.delete_bucket,
    "HeadBucket": ops_buckets.head_bucket,
    "GetBucketLocation": ops_buckets.get_bucket_location,
    "ListObjects": ops_buckets.list_objects_v1,
    "ListObjectsV2": ops_buckets.list_objects_v2,
    "ListMultipartUploads": ops_multipart.list_multipart_uploads,
    "GetObject": ops_objects.get_object,
    "HeadObject": ops_objects.head_object,
    "PutObject": ops_objects.put_object,
    "CopyObject": ops_objects.copy_object,
    "DeleteObject": ops_objects.delete_object,
    "DeleteObjects": ops_objects.delete_objects,
    "CreateMultipartUpload": ops_multipart.create_multipart_upload,
    "UploadPart": ops_multipart.upload_part,
    "UploadPartCopy": ops_multipart.upload_part_copy,
    "CompleteMultipartUpload": ops_multipart.complete_multipart_upload,
    "AbortMultipartUpload": ops_multipart.abort_multipart_upload,
    "ListParts": ops_multipart.list_parts,
}

# Subresources of the S3 API that R2 (and we) do not implement.
UNSUPPORTED = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "encryption",
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
