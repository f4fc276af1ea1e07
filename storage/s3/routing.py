"""The handler of each S3 operation (which operation a request is: `storage.s3.scope`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage.s3 import ops_buckets, ops_cors, ops_multipart, ops_objects
from storage.s3.context import Context
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
    "PutBucketCors": ops_cors.put_bucket_cors,
    "GetBucketCors": ops_cors.get_bucket_cors,
    "DeleteBucketCors": ops_cors.delete_bucket_cors,
}
