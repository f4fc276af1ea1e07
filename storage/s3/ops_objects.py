"""Object operations: Get/Head/Put/Copy/Delete/DeleteObjects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from storage.s3 import errors
from storage.s3.authz import authorize
from storage.s3.body import pump_body, read_small_body
from storage.s3.conditions import NotModified, ObjectState, Preconditions
from storage.s3.context import (
    Context,
    attrs_from_headers,
    http_date,
    object_headers,
)
from storage.s3.index import ObjectAttrs, ObjectRow, Segment
from storage.s3.names import check_key
from storage.s3.ranges import parse_range
from storage.s3.request import parse_copy_source
from storage.s3.response import Response, empty, xml_response
from storage.s3.scope import request_scope
from storage.s3.store import Bucket, OpenObject
from storage.s3.xmlio import document, el, iso8601, parse_delete

READ_CHUNK = 2 * 1024 * 1024
MAX_DELETE_BODY = 2 * 1024 * 1024

_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


def _apply_overrides(ctx: Context, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    overrides = {
        header: ctx.request.query[param]
        for param, header in _RESPONSE_OVERRIDES.items()
        if param in ctx.request.query
    }
    if not overrides:
        return headers
    kept = [(n, v) for n, v in headers if n not in overrides]
    return kept + list(overrides.items())


def _check_read_conditions(ctx: Context, row: ObjectRow) -> None:
    Preconditions.from_headers(ctx.request.headers).check_read(
        ObjectState(row.etag, row.last_modified_ns)
    )


def _select_range(ctx: Context, row: ObjectRow) -> tuple[int, int, bool]:
    """(start, end, partial) of what to send, from Range or partNumber."""
    part_text = ctx.request.query.get("partNumber")
    if part_text is not None:
        try:
            number = int(part_text)
        except ValueError:
            raise errors.InvalidArgument("Part number must be an integer.") from None
        if number < 1 or number > len(row.segments):
            if number == 1 and not row.segments:
                return 0, 0, False
            raise errors.InvalidPartNumber()
        start = sum(s.size for s in row.segments[: number - 1])
        return start, start + row.segments[number - 1].size, row.attrs.parts_count is not None
    selected = parse_range(ctx.request.headers.get("range"), row.size)
    if selected is None:
        return 0, row.size, False
    return selected[0], selected[1], True


def _describe(ctx: Context, row: ObjectRow, status: int, start: int, end: int) -> Response:
    response = Response(status=status)
    for name, value in _apply_overrides(ctx, object_headers(row)):
        response.header(name, value)
    if status == 206:
        response.header("content-range", f"bytes {start}-{end - 1}/{row.size}")
    elif (
        row.attrs.checksum is not None
        and (ctx.request.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"
    ):
        alg, value = row.attrs.checksum
        response.header(f"x-amz-checksum-{alg.lower()}", value)
        response.header("x-amz-checksum-type", row.attrs.checksum_type or "FULL_OBJECT")
    response.content_length = end - start
    return response


def _not_modified(exc: NotModified) -> Response:
    response = Response(status=304)
    response.header("etag", f'"{exc.etag}"')
    response.header("last-modified", http_date(exc.last_modified_ns))
    response.omit_body = True
    return response


async def head_object(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    row = await ctx.run(bucket.get, ctx.key)
    try:
        _check_read_conditions(ctx, row)
    except NotModified as exc:
        return _not_modified(exc)
    start, end, partial = _select_range(ctx, row)
    response = _describe(ctx, row, 206 if partial else 200, start, end)
    response.omit_body = True
    return response


async def get_object(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    opened = await ctx.run(bucket.open, ctx.key)
    try:
        row = opened.row
        try:
            _check_read_conditions(ctx, row)
        except NotModified as exc:
            opened.close()
            return _not_modified(exc)
        start, end, partial = _select_range(ctx, row)
        response = _describe(ctx, row, 206 if partial else 200, start, end)
    except BaseException:
        opened.close()
        raise
    response.stream = _stream(ctx, opened, start, end)
    return response


async def _stream(
    ctx: Context, opened: OpenObject, start: int, end: int
) -> AsyncGenerator[bytes, None]:
    """Read ahead one chunk on a worker thread while the previous one is being sent."""
    pending: asyncio.Future[Any] | None = None
    try:
        offset = start
        if offset < end:
            pending = asyncio.ensure_future(
                ctx.run_sync(opened.read, offset, min(READ_CHUNK, end - offset))
            )
        while pending is not None:
            data: bytes = await pending
            pending = None
            offset += len(data)
            if offset < end:
                pending = asyncio.ensure_future(
                    ctx.run_sync(opened.read, offset, min(READ_CHUNK, end - offset))
                )
            yield data
    finally:
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending
        opened.close()


async def write_preconditions(ctx: Context, bucket: Bucket) -> Preconditions:
    """A write's If-Match / If-None-Match, checked now to fail fast, before any body is read;
    the commit checks them again atomically."""
    conditions = Preconditions.from_headers(ctx.request.headers)
    if conditions.any:
        current = await ctx.run(bucket.index.get_object, ctx.key)
        conditions.check_write(
            None if current is None else ObjectState(current.etag, current.last_modified_ns)
        )
    return conditions


async def put_object(ctx: Context) -> Response:
    check_key(ctx.key)
    bucket = await ctx.bucket()
    attrs = attrs_from_headers(ctx.request.headers)
    conditions = await write_preconditions(ctx, bucket)
    segment, md5_hex, checksum = await receive_blob(ctx, bucket)
    row = await ctx.run(
        bucket.commit_object,
        ctx.key,
        (segment,),
        md5_hex,
        replace(attrs, checksum=checksum),
        conditions if conditions.any else None,
    )
    response = empty()
    response.header("etag", f'"{row.etag}"')
    if checksum is not None:
        response.header(f"x-amz-checksum-{checksum[0].lower()}", checksum[1])
    return response


async def receive_blob(ctx: Context, bucket: Bucket) -> tuple[Segment, str, tuple[str, str] | None]:
    """Stream the verified request body into a new durable blob of `bucket`."""
    if (
        ctx.request.headers.get("content-length") is None
        and not ctx.contract.chunked
        and ctx.request.headers.get("transfer-encoding") is None
    ):
        raise errors.MissingContentLength()
    writer = await ctx.run(bucket.new_writer)
    try:
        digest = await pump_body(
            ctx.request,
            ctx.contract,
            ctx.run_sync,
            writer.write,
            max_size=ctx.config.max_object_size,
        )
        blob = await ctx.run(writer.commit)
    except BaseException:
        await ctx.run(writer.abort)
        raise
    return Segment(blob, digest.size), digest.md5_hex, digest.checksum


async def copy_object(ctx: Context) -> Response:
    check_key(ctx.key)
    headers = ctx.request.headers
    # The source was authorised with the request (storage.s3.scope): a READ of it.
    source_bucket_name, source_key = parse_copy_source(headers.get("x-amz-copy-source") or "")
    target = await ctx.bucket()
    source = await ctx.run(ctx.store.bucket, source_bucket_name)
    directive = (headers.get("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE", "MERGE"):
        raise errors.InvalidArgument("Unknown metadata directive.")
    requested = attrs_from_headers(headers)
    if source_bucket_name == target.name and source_key == ctx.key and directive == "COPY":
        raise errors.InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes."
        )

    def make_attrs(row: ObjectRow) -> ObjectAttrs:
        if directive == "REPLACE":
            return replace(
                requested, checksum=row.attrs.checksum, checksum_type=row.attrs.checksum_type
            )
        if directive == "MERGE":
            return ObjectAttrs(
                content_type=requested.content_type or row.attrs.content_type,
                system={**row.attrs.system, **requested.system},
                metadata={**row.attrs.metadata, **requested.metadata},
                checksum=row.attrs.checksum,
                checksum_type=row.attrs.checksum_type,
                parts_count=row.attrs.parts_count,
            )
        # A copy is not the result of the source's upload: a retried Complete of that
        # upload must not answer for it.
        return replace(row.attrs, upload_id=None)

    destination = Preconditions.from_headers(headers, prefix="cf-copy-destination-")
    row = await ctx.run(
        lambda: ctx.store.copy_object(
            source,
            source_key,
            target,
            ctx.key,
            make_attrs=make_attrs,
            source_conditions=Preconditions.from_headers(headers, prefix="x-amz-copy-source-"),
            target_conditions=destination if destination.any else None,
        )
    )
    body = document(
        "CopyObjectResult",
        [el("LastModified", iso8601(row.last_modified_ns)), el("ETag", f'"{row.etag}"')],
    )
    return xml_response(body)


async def delete_object(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    await ctx.run(bucket.delete, ctx.key)
    return empty(204)


async def delete_objects(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    body = await read_small_body(ctx.request, ctx.contract, ctx.run_sync, limit=MAX_DELETE_BODY)
    keys, quiet = parse_delete(body)
    authorize(ctx.principal, request_scope(ctx.request, body).touches)
    results: list[str] = []
    valid: list[str] = []
    for key in keys:
        try:
            check_key(key)
        except errors.S3Error as exc:
            results.append(
                "<Error>"
                + el("Key", key)
                + el("Code", exc.code)
                + el("Message", exc.message)
                + "</Error>"
            )
            continue
        valid.append(key)
    await ctx.run(bucket.delete_many, valid)
    if not quiet:
        results += ["<Deleted>" + el("Key", key) + "</Deleted>" for key in valid]
    return xml_response(document("DeleteResult", results))
