"""Multipart uploads: create, upload part (and part copy), complete, abort, list."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from storage.s3 import errors
from storage.s3.body import read_small_body
from storage.s3.checksums import CHECKSUM_ALGORITHMS, CRC_ALGORITHMS
from storage.s3.conditions import ObjectState, Preconditions
from storage.s3.context import Context, attrs_from_headers
from storage.s3.index import Segment, UploadRow
from storage.s3.names import check_key
from storage.s3.ops_buckets import OWNER, parse_max
from storage.s3.ops_objects import receive_blob, write_preconditions
from storage.s3.request import parse_copy_source
from storage.s3.response import Response, xml_response
from storage.s3.store import MAX_PART_NUMBER, Bucket, Multipart, split_part_checksum
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


def _declared_checksum(ctx: Context) -> tuple[str | None, str | None]:
    """CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type, checked
    as S3 does (CRC64NVME is FULL_OBJECT only; FULL_OBJECT is for CRCs only)."""
    headers = ctx.request.headers
    algorithm = (headers.get("x-amz-checksum-algorithm") or "").strip().upper() or None
    kind = (headers.get("x-amz-checksum-type") or "").strip().upper() or None
    if algorithm is None:
        if kind is not None:
            raise errors.InvalidRequest(
                "The x-amz-checksum-type header can only be used with the"
                " x-amz-checksum-algorithm header."
            )
        return None, None
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise errors.InvalidRequest("Checksum algorithm provided is unsupported.")
    if kind is None:
        kind = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise errors.InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    if (kind == "FULL_OBJECT" and algorithm not in CRC_ALGORITHMS) or (
        kind == "COMPOSITE" and algorithm == "CRC64NVME"
    ):
        raise errors.InvalidRequest(
            f"The {kind} checksum type cannot be used with the {algorithm.lower()}"
            " checksum algorithm."
        )
    return algorithm, kind


async def create_multipart_upload(ctx: Context) -> Response:
    check_key(ctx.key)
    bucket = await ctx.bucket()
    algorithm, kind = _declared_checksum(ctx)
    attrs = replace(
        attrs_from_headers(ctx.request.headers), checksum_algorithm=algorithm, checksum_type=kind
    )
    await write_preconditions(ctx, bucket)
    upload_id = await ctx.run(Multipart(bucket).create, ctx.key, attrs)
    body = document(
        "InitiateMultipartUploadResult",
        [el("Bucket", bucket.name), el("Key", ctx.key), el("UploadId", upload_id)],
    )
    response = xml_response(body)
    if algorithm is not None and kind is not None:
        response.header("x-amz-checksum-algorithm", algorithm)
        response.header("x-amz-checksum-type", kind)
    return response


async def upload_part(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    upload_id = _upload_id(ctx)
    number = _part_number(ctx)
    multipart = Multipart(bucket)
    upload = await ctx.run(multipart.get, upload_id, ctx.key)
    declared = upload.attrs.checksum_algorithm
    sent = _sent_checksum_algorithm(ctx)
    if declared is not None and sent is not None and sent != declared:
        raise errors.InvalidRequest(
            "Checksum Type mismatch occurred, expected checksum Type:"
            f" {declared.lower()}, actual checksum Type: {sent.lower()}"
        )
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


def _sent_checksum_algorithm(ctx: Context) -> str | None:
    """The algorithm of the x-amz-checksum-* a part carries (header or announced trailer)."""
    headers = ctx.request.headers
    for name in [headers.get("x-amz-trailer") or "", *(n for n, _ in headers.items())]:
        name = name.strip().lower()
        if name.startswith("x-amz-checksum-"):
            algorithm = name.removeprefix("x-amz-checksum-").upper()
            if algorithm in CHECKSUM_ALGORITHMS:
                return algorithm
    return None


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
    # The source was authorised with the request (storage.s3.scope): a READ of it.
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
    items = [
        el("Location", location),
        el("Bucket", bucket.name),
        el("Key", ctx.key),
        el("ETag", f'"{row.etag}"'),
    ]
    if row.attrs.checksum is not None:
        algorithm, value = row.attrs.checksum
        items += [
            el(f"Checksum{algorithm}", value),
            el("ChecksumType", row.attrs.checksum_type or "COMPOSITE"),
        ]
    return xml_response(document("CompleteMultipartUploadResult", items))


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
    if upload.attrs.checksum_algorithm is not None:
        items += [
            el("ChecksumAlgorithm", upload.attrs.checksum_algorithm),
            el("ChecksumType", upload.attrs.checksum_type or "COMPOSITE"),
        ]
    for part in parts:
        checksum = split_part_checksum(part.checksum)
        items.append(
            "<Part>"
            + el("PartNumber", part.part_number)
            + el("LastModified", iso8601(part.last_modified_ns))
            + el("ETag", f'"{part.etag}"')
            + el("Size", part.size)
            + ("" if checksum is None else el(f"Checksum{checksum[0]}", checksum[1]))
            + "</Part>"
        )
    return xml_response(document("ListPartsResult", items))


def _page_of_uploads(
    bucket: Bucket,
    prefix: bytes,
    delimiter: bytes | None,
    key_marker: bytes | None,
    upload_marker: str | None,
    max_uploads: int,
) -> tuple[list[UploadRow | bytes], bool]:
    """One page of uploads and common prefixes (bytes), and whether more follow.

    As ListObjects: keys holding the delimiter past the prefix roll up into one common
    prefix, which counts once towards max-uploads; we then jump past `prefix/\xff`.
    A key-marker that is itself a common prefix resumes after everything under it.
    """
    items: list[UploadRow | bytes] = []
    after_key, after_upload = key_marker, upload_marker
    batch = max(min(max_uploads + 1, 1000), 1)
    while True:
        rows = bucket.index.list_uploads(prefix, after_key, after_upload, batch)
        if not rows:
            return items, False
        jumped = False
        for row in rows:
            key = row.key.encode("utf-8")
            common: bytes | None = None
            if delimiter:
                at = key.find(delimiter, len(prefix))
                if at >= 0:
                    common = key[: at + len(delimiter)]
            if common is not None and common == key_marker:
                after_key, after_upload, jumped = common + b"\xff", None, True
                break
            if len(items) >= max_uploads:
                return items, max_uploads > 0
            if common is not None:
                items.append(common)
                after_key, after_upload, jumped = common + b"\xff", None, True
                break
            items.append(row)
        if not jumped:
            if len(rows) < batch:
                return items, False
            after_key, after_upload = rows[-1].key.encode("utf-8"), rows[-1].upload_id


async def list_multipart_uploads(ctx: Context) -> Response:
    q = ctx.request.query
    bucket = await ctx.bucket()
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter") or None
    key_marker = q.get("key-marker") or None
    # S3 ignores upload-id-marker without key-marker.
    upload_marker = (q.get("upload-id-marker") or None) if key_marker else None
    max_uploads = parse_max(q.get("max-uploads"), "max-uploads")
    encode = q.get("encoding-type") == "url"
    if "encoding-type" in q and not encode:
        raise errors.InvalidArgument("Invalid Encoding Method specified in Request")

    def name(value: str) -> str:
        return url_encode(value) if encode else value

    page, truncated = await ctx.run(
        _page_of_uploads,
        bucket,
        prefix.encode("utf-8"),
        delimiter.encode("utf-8") if delimiter else None,
        key_marker.encode("utf-8") if key_marker else None,
        upload_marker,
        max_uploads,
    )
    items = [
        el("Bucket", bucket.name),
        el("KeyMarker", name(key_marker or "")),
        el("UploadIdMarker", upload_marker or ""),
    ]
    if truncated and page:
        last = page[-1]
        if isinstance(last, bytes):
            items += [el("NextKeyMarker", name(last.decode("utf-8"))), el("NextUploadIdMarker", "")]
        else:
            items += [
                el("NextKeyMarker", name(last.key)),
                el("NextUploadIdMarker", last.upload_id),
            ]
    if encode:
        items.append(el("EncodingType", "url"))
    items.append(el("Prefix", name(prefix)))
    if delimiter:
        items.append(el("Delimiter", name(delimiter)))
    items += [el("MaxUploads", max_uploads), el("IsTruncated", truncated)]
    for entry in page:
        if isinstance(entry, bytes):
            continue
        items.append(
            "<Upload>"
            + el("Key", name(entry.key))
            + el("UploadId", entry.upload_id)
            + "<Initiator>"
            + el("ID", "icefloe")
            + el("DisplayName", "icefloe")
            + "</Initiator>"
            + OWNER
            + el("StorageClass", "STANDARD")
            + el("Initiated", iso8601(entry.initiated_ns))
            + (
                ""
                if entry.attrs.checksum_algorithm is None
                else el("ChecksumAlgorithm", entry.attrs.checksum_algorithm)
                + el("ChecksumType", entry.attrs.checksum_type or "COMPOSITE")
            )
            + "</Upload>"
        )
    for entry in page:
        if isinstance(entry, bytes):
            items.append(
                "<CommonPrefixes>" + el("Prefix", name(entry.decode("utf-8"))) + "</CommonPrefixes>"
            )
    return xml_response(document("ListMultipartUploadsResult", items))
