"""Bucket operations and listings (ListObjects v1/v2, ListBuckets)."""

from __future__ import annotations

import base64
import binascii

from storage.s3 import errors
from storage.s3.body import read_small_body
from storage.s3.context import Context
from storage.s3.names import check_bucket_name
from storage.s3.response import Response, empty, xml_response
from storage.s3.store import ListResult
from storage.s3.xmlio import document, el, iso8601, url_encode

MAX_KEYS = 1000
OWNER = "<Owner>" + el("ID", "icefloe") + el("DisplayName", "icefloe") + "</Owner>"
_TOKEN_MAGIC = b"\x01"


def encode_token(after: bytes) -> str:
    return base64.urlsafe_b64encode(_TOKEN_MAGIC + after).decode("ascii")


def decode_token(token: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if not raw.startswith(_TOKEN_MAGIC):
        raise errors.InvalidArgument("The continuation token provided is incorrect")
    return raw[len(_TOKEN_MAGIC) :]


def parse_max(value: str | None, name: str, default: int = MAX_KEYS) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise errors.InvalidArgument(
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=value,
        ) from None
    if number < 0:
        raise errors.InvalidArgument(
            f"Argument {name} must be an integer between 0 and 2147483647",
            ArgumentName=name,
            ArgumentValue=value,
        )
    return min(number, default)


def _encoding(ctx: Context) -> bool:
    encoding = ctx.request.query.get("encoding-type")
    if encoding is None:
        return False
    if encoding.lower() != "url":
        raise errors.InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    return True


async def list_buckets(ctx: Context) -> Response:
    buckets = await ctx.run(ctx.store.list_buckets)
    items = [
        "<Bucket>" + el("Name", b.name) + el("CreationDate", iso8601(b.created_ns)) + "</Bucket>"
        for b in buckets
    ]
    return xml_response(
        document("ListAllMyBucketsResult", [OWNER, "<Buckets>", *items, "</Buckets>"])
    )


async def create_bucket(ctx: Context) -> Response:
    assert ctx.request.bucket is not None
    check_bucket_name(ctx.request.bucket)
    await read_small_body(ctx.request, ctx.contract, ctx.run_sync, limit=64 * 1024)
    await ctx.run(ctx.store.create_bucket, ctx.request.bucket)
    response = empty()
    response.header("location", f"/{ctx.request.bucket}")
    return response


async def delete_bucket(ctx: Context) -> Response:
    assert ctx.request.bucket is not None
    await ctx.run(ctx.store.delete_bucket, ctx.request.bucket)
    return empty(204)


async def head_bucket(ctx: Context) -> Response:
    await ctx.bucket()
    response = empty()
    response.header("x-amz-bucket-region", ctx.config.region)
    response.omit_body = True
    return response


async def get_bucket_location(ctx: Context) -> Response:
    await ctx.bucket()
    region = "" if ctx.config.region == "us-east-1" else ctx.config.region
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{region}</LocationConstraint>"
    ).encode()
    return xml_response(body)


def _listing_body(result: ListResult, encode: bool, *, owner: bool) -> list[str]:
    def text(raw: bytes) -> str:
        value = raw.decode("utf-8")
        return url_encode(value) if encode else value

    parts: list[str] = []
    for item in result.contents:
        parts.append(
            "<Contents>"
            + el("Key", text(item.key))
            + el("LastModified", iso8601(item.last_modified_ns))
            + el("ETag", f'"{item.etag}"')
            + el("Size", item.size)
            + (OWNER if owner else "")
            + el("StorageClass", "STANDARD")
            + "</Contents>"
        )
    for common in result.common_prefixes:
        parts.append("<CommonPrefixes>" + el("Prefix", text(common)) + "</CommonPrefixes>")
    return parts


async def list_objects_v2(ctx: Context) -> Response:
    q = ctx.request.query
    bucket = await ctx.bucket()
    encode = _encoding(ctx)
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter") or None
    max_keys = parse_max(q.get("max-keys"), "max-keys")
    token = q.get("continuation-token")
    start_after = q.get("start-after")
    if token is not None:
        after: bytes | None = decode_token(token)
    else:
        after = start_after.encode("utf-8") if start_after else None
    result = await ctx.run(
        bucket.list_objects,
        prefix.encode("utf-8"),
        delimiter.encode("utf-8") if delimiter else None,
        after,
        max_keys,
    )

    def maybe(value: str) -> str:
        return url_encode(value) if encode else value

    head = [el("Name", bucket.name), el("Prefix", maybe(prefix))]
    if delimiter:
        head.append(el("Delimiter", maybe(delimiter)))
    if start_after:
        head.append(el("StartAfter", maybe(start_after)))
    head.append(el("MaxKeys", max_keys))
    if encode:
        head.append(el("EncodingType", "url"))
    head.append(el("KeyCount", len(result.contents) + len(result.common_prefixes)))
    if token is not None:
        head.append(el("ContinuationToken", token))
    head.append(el("IsTruncated", result.truncated))
    if result.truncated and result.next_after is not None:
        head.append(el("NextContinuationToken", encode_token(result.next_after)))
    owner = q.get("fetch-owner", "").lower() == "true"
    return xml_response(
        document("ListBucketResult", head + _listing_body(result, encode, owner=owner))
    )


async def list_objects_v1(ctx: Context) -> Response:
    q = ctx.request.query
    bucket = await ctx.bucket()
    encode = _encoding(ctx)
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter") or None
    max_keys = parse_max(q.get("max-keys"), "max-keys")
    marker = q.get("marker", "")
    result = await ctx.run(
        bucket.list_objects,
        prefix.encode("utf-8"),
        delimiter.encode("utf-8") if delimiter else None,
        marker.encode("utf-8") if marker else None,
        max_keys,
    )

    def maybe(value: str) -> str:
        return url_encode(value) if encode else value

    head = [el("Name", bucket.name), el("Prefix", maybe(prefix)), el("Marker", maybe(marker))]
    if result.truncated and delimiter and result.last_item is not None:
        head.append(el("NextMarker", maybe(result.last_item.decode("utf-8"))))
    head.append(el("MaxKeys", max_keys))
    if delimiter:
        head.append(el("Delimiter", maybe(delimiter)))
    if encode:
        head.append(el("EncodingType", "url"))
    head.append(el("IsTruncated", result.truncated))
    return xml_response(
        document("ListBucketResult", head + _listing_body(result, encode, owner=True))
    )
