"""Multipart uploads: create, upload part (and part copy), complete, abort, list."""

from __future__ import annotations

import hashlib
import re

from storage.s3 import errors
from storage.s3.authz import Access, authorize
from storage.s3.body import read_small_body
from storage.s3.conditions import ObjectState, Preconditions
from storage.s3.context import Context, attrs_from_headers
from storage.s3.index import Segment
from storage.s3.names import check_key
from storage.s3.ops_buckets import OWNER, parse_max
from storage.s3.ops_objects import parse_copy_source, receive_blob, write_preconditions
from storage.s3.response import Response, xml_response
from storage.s3.store import MAX_PART_NUMBER, Bucket, Multipart
from storage.s3.xmlio import document, el, iso8601, parse_complete, url_encode

MAX_COMPLETE_BODY = 4 * 1024 * 1024
_COPY_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d+)$")
_UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _upload_id(ctx: Context) -> str:
    upload_id = ctx.request.query.get("uploadId", "")
    if not _UPLOAD_ID_RE.match(upload_id):
        raise errors.NoSuchUpload(UploadId=upload_id)
    return upload_id


def _part_number(ctx: Context) -> int:
    text = ctx.request.query.get("partNumber", "")
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise errors.InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=text,
        )
    return number


async def create_multipart_upload(ctx: Context) -> Response:
    check_key(ctx.key)
    bucket = await ctx.bucket()
    attrs = attrs_from_headers(ctx.request.headers)
    await write_preconditions(ctx, bucket)
    upload_id = await ctx.run(Multipart(bucket).create, ctx.key, attrs)
    body = document(
        "InitiateMultipartUploadResult",
        [el("Bucket", bucket.name), el("Key", ctx.key), el("UploadId", upload_id)],
    )
    return xml_response(body)


async def upload_part(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    upload_id = _upload_id(ctx)
    number = _part_number(ctx)
    multipart = Multipart(bucket)
    await ctx.run(multipart.get, upload_id, ctx.key)
    segment, md5_hex, checksum = await receive_blob(ctx, bucket)
    await ctx.run(
        multipart.commit_part,
        upload_id,
        ctx.key,
        number,
        segment,
        md5_hex,
        None if checksum is None else f"{checksum[0]}:{checksum[1]}",
    )
    response = Response()
    response.header("etag", f'"{md5_hex}"')
    if checksum is not None:
        response.header(f"x-amz-checksum-{checksum[0].lower()}", checksum[1])
    return response


def _copy_range(
    source: Bucket, key: str, header: str | None, target: Bucket
) -> tuple[Segment, str]:
    """Copy (a range of) an object into a new blob of `target`, returning it and its MD5."""
    opened = source.open(key)
    try:
        size = opened.row.size
        start, end = 0, size
        if header is not None:
            match = _COPY_RANGE_RE.match(header.strip())
            if match is None:
                raise errors.InvalidArgument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last."
                )
            start, last = int(match.group(1)), int(match.group(2))
            if last < start or last >= size:
                raise errors.InvalidRange(size)
            end = last + 1
        writer = target.new_writer()
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            offset = start
            while offset < end:
                chunk = opened.read(offset, min(8 * 1024 * 1024, end - offset))
                md5.update(chunk)
                writer.write(chunk)
                offset += len(chunk)
            blob = writer.commit()
        except BaseException:
            writer.abort()
            raise
        return Segment(blob, end - start), md5.hexdigest()
    finally:
        opened.close()


async def upload_part_copy(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    upload_id = _upload_id(ctx)
    number = _part_number(ctx)
    source_bucket_name, source_key = parse_copy_source(
        ctx.request.headers.get("x-amz-copy-source") or ""
    )
    authorize(ctx.principal, Access.READ, source_bucket_name, key=source_key)
    source = await ctx.run(ctx.store.bucket, source_bucket_name)
    multipart = Multipart(bucket)
    await ctx.run(multipart.get, upload_id, ctx.key)
    row = await ctx.run(source.get, source_key)
    Preconditions.from_headers(ctx.request.headers, prefix="x-amz-copy-source-").check_copy_source(
        ObjectState(row.etag, row.last_modified_ns)
    )
    segment, md5_hex = await ctx.run(
        _copy_range,
        source,
        source_key,
        ctx.request.headers.get("x-amz-copy-source-range"),
        bucket,
    )
    await ctx.run(multipart.commit_part, upload_id, ctx.key, number, segment, md5_hex, None)
    part = await ctx.run(bucket.index.list_parts, upload_id, number - 1, 1)
    modified = part[0].last_modified_ns if part else row.last_modified_ns
    body = document(
        "CopyPartResult", [el("LastModified", iso8601(modified)), el("ETag", f'"{md5_hex}"')]
    )
    return xml_response(body)


async def complete_multipart_upload(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    upload_id = _upload_id(ctx)
    body = await read_small_body(ctx.request, ctx.contract, ctx.run_sync, limit=MAX_COMPLETE_BODY)
    requested = parse_complete(body)
    conditions = Preconditions.from_headers(ctx.request.headers)
    row = await ctx.run(
        Multipart(bucket).complete,
        upload_id,
        ctx.key,
        requested,
        conditions if conditions.any else None,
    )
    location = f"/{bucket.name}/{url_encode(ctx.key)}"
    result = document(
        "CompleteMultipartUploadResult",
        [
            el("Location", location),
            el("Bucket", bucket.name),
            el("Key", ctx.key),
            el("ETag", f'"{row.etag}"'),
        ],
    )
    return xml_response(result)


async def abort_multipart_upload(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    await ctx.run(Multipart(bucket).abort, _upload_id(ctx), ctx.key)
    return Response(status=204)


async def list_parts(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    upload_id = _upload_id(ctx)
    upload = await ctx.run(Multipart(bucket).get, upload_id, ctx.key)
    max_parts = parse_max(ctx.request.query.get("max-parts"), "max-parts")
    marker_text = ctx.request.query.get("part-number-marker", "0") or "0"
    try:
        marker = int(marker_text)
    except ValueError:
        raise errors.InvalidArgument("Part number marker must be an integer.") from None
    parts = await ctx.run(bucket.index.list_parts, upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    items = [
        el("Bucket", bucket.name),
        el("Key", upload.key),
        el("UploadId", upload_id),
        "<Initiator>" + el("ID", "icefloe") + el("DisplayName", "icefloe") + "</Initiator>",
        OWNER,
        el("StorageClass", "STANDARD"),
        el("PartNumberMarker", marker),
    ]
    if parts:
        items.append(el("NextPartNumberMarker", parts[-1].part_number))
    items += [el("MaxParts", max_parts), el("IsTruncated", truncated)]
    for part in parts:
        items.append(
            "<Part>"
            + el("PartNumber", part.part_number)
            + el("LastModified", iso8601(part.last_modified_ns))
            + el("ETag", f'"{part.etag}"')
            + el("Size", part.size)
            + "</Part>"
        )
    return xml_response(document("ListPartsResult", items))


async def list_multipart_uploads(ctx: Context) -> Response:
    q = ctx.request.query
    bucket = await ctx.bucket()
    prefix = q.get("prefix", "")
    key_marker = q.get("key-marker") or None
    upload_marker = q.get("upload-id-marker") or None
    max_uploads = parse_max(q.get("max-uploads"), "max-uploads")
    uploads = await ctx.run(
        bucket.index.list_uploads,
        prefix.encode("utf-8"),
        key_marker.encode("utf-8") if key_marker else None,
        upload_marker,
        max_uploads + 1,
    )
    truncated = len(uploads) > max_uploads
    uploads = uploads[:max_uploads]
    items = [
        el("Bucket", bucket.name),
        el("KeyMarker", key_marker or ""),
        el("UploadIdMarker", upload_marker or ""),
    ]
    if truncated and uploads:
        items += [
            el("NextKeyMarker", uploads[-1].key),
            el("NextUploadIdMarker", uploads[-1].upload_id),
        ]
    items += [el("Prefix", prefix), el("MaxUploads", max_uploads), el("IsTruncated", truncated)]
    for upload in uploads:
        items.append(
            "<Upload>"
            + el("Key", upload.key)
            + el("UploadId", upload.upload_id)
            + "<Initiator>"
            + el("ID", "icefloe")
            + el("DisplayName", "icefloe")
            + "</Initiator>"
            + OWNER
            + el("StorageClass", "STANDARD")
            + el("Initiated", iso8601(upload.initiated_ns))
            + "</Upload>"
        )
    return xml_response(document("ListMultipartUploadsResult", items))
