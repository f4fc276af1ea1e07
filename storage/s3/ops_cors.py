"""PutBucketCors, GetBucketCors, DeleteBucketCors, and the answers CORS adds to requests:
the preflight (OPTIONS, unauthenticated, as browsers send it) and the headers of an actual
cross-origin request (`storage.s3.cors` holds the rules and their matching)."""

from __future__ import annotations

from storage.s3 import errors
from storage.s3.body import read_small_body
from storage.s3.context import Context
from storage.s3.cors import (
    META_KEY,
    CorsRule,
    dump_rules,
    first_match,
    load_rules,
    parse_rules,
    response_headers,
    rules_document,
)
from storage.s3.request import S3Request
from storage.s3.response import Response, empty, xml_response
from storage.s3.store import ObjectStore

MAX_CORS_BODY = 64 * 1024


class NoSuchCORSConfiguration(errors.S3Error):
    code = "NoSuchCORSConfiguration"
    status = 404
    default_message = "The CORS configuration does not exist"


class CorsForbidden(errors.S3Error):
    code = "AccessForbidden"
    status = 403
    default_message = "CORSResponse: This CORS request is not allowed."


async def put_bucket_cors(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    body = await read_small_body(ctx.request, ctx.contract, ctx.run_sync, limit=MAX_CORS_BODY)
    rules = parse_rules(body)
    await ctx.run(bucket.index.set_meta, META_KEY, dump_rules(rules))
    return empty(200)


async def get_bucket_cors(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    rules = load_rules(await ctx.run(bucket.index.get_meta, META_KEY))
    if not rules:
        raise NoSuchCORSConfiguration(BucketName=bucket.name)
    return xml_response(rules_document(rules))


async def delete_bucket_cors(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    await ctx.run(bucket.index.set_meta, META_KEY, "")
    return empty(204)


def bucket_rules(store: ObjectStore, bucket: str) -> list[CorsRule]:
    try:
        found = store.bucket(bucket)
    except errors.NoSuchBucket:
        return []
    return load_rules(found.index.get_meta(META_KEY))


def preflight(store: ObjectStore, request: S3Request) -> Response:
    """The answer to a browser's OPTIONS: the matching rule's headers, or 403."""
    origin = request.headers.get("origin")
    method = request.headers.get("access-control-request-method")
    if not origin or not method:
        raise errors.InvalidRequest("Insufficient information. Origin request header needed.")
    if request.bucket is None:
        raise CorsForbidden()
    requested = [
        h.strip().lower()
        for h in (request.headers.get("access-control-request-headers") or "").split(",")
        if h.strip()
    ]
    rules = bucket_rules(store, request.bucket)
    if not rules:
        raise CorsForbidden("CORSResponse: CORS is not enabled for this bucket.")
    rule = first_match(rules, origin, method, requested)
    if rule is None:
        raise CorsForbidden()
    response = empty(200)
    for name, value in response_headers(rule, origin, requested, preflight=True):
        response.header(name, value)
    return response


def actual_headers(store: ObjectStore, request: S3Request) -> list[tuple[str, str]]:
    """The CORS headers of a cross-origin request's response (none without a match)."""
    origin = request.headers.get("origin")
    if not origin or request.bucket is None:
        return []
    rule = first_match(bucket_rules(store, request.bucket), origin, request.method)
    return [] if rule is None else response_headers(rule, origin, preflight=False)
