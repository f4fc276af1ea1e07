"""Remote signing: the catalog signs a client's S3 request when, and only when, it stays in the
table's location and the caller may do that there.

Requests are signed with credentials vended for the table's prefix (with the caller's access),
so the store enforces the same scope a second time. Only the headers the client must add are
returned (PyIceberg adds them to its request; re-sending its own would double them).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote, urlsplit

from catalog.exceptions import BadRequest, Forbidden
from storage.locations import is_within
from storage.s3 import sigv4

READ_METHODS = {"GET", "HEAD"}
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def s3_location(uri: str, endpoint: str | None) -> tuple[str, str, str]:
    """(bucket, key, raw query) of a request URL, path-style on our endpoint, else virtual-host."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(f"Not an S3 request URL: {uri!r}")
    path = unquote(parts.path)
    own = urlsplit(endpoint).netloc if endpoint else None
    if own and parts.netloc == own:
        bucket, _, key = path.lstrip("/").partition("/")
    else:
        bucket, key = parts.netloc.split(".", 1)[0], path.lstrip("/")
    if not bucket or ".." in key.split("/"):
        raise BadRequest(f"Not an S3 object URL: {uri!r}")
    return bucket, key, parts.query


def check_scope(
    method: str,
    bucket: str,
    key: str,
    query: str,
    body: str | None,
    table_location: str,
    may_write: bool,
) -> None:
    method = method.upper()
    if method not in READ_METHODS and not may_write:
        raise Forbidden(f"{method} needs write access to this table")
    root = table_location.rstrip("/") + "/"
    params = dict(parse_qsl(query, keep_blank_values=True))
    if key:
        if not is_within(
            f"s3://{bucket}/{key}", root.rstrip("/")
        ) or f"s3://{bucket}/{key}" == root.rstrip("/"):
            raise Forbidden("The request's object lies outside this table's location")
        return
    if method == "POST" and "delete" in params:
        for item in _deleted_keys(body):
            if not f"s3://{bucket}/{item}".startswith(root):
                raise Forbidden("A key to delete lies outside this table's location")
        return
    prefix = params.get("prefix")
    if method in READ_METHODS and prefix is not None and f"s3://{bucket}/{prefix}".startswith(root):
        return
    raise Forbidden("Only requests within this table's location are signed")


def _deleted_keys(body: str | None) -> list[str]:
    if not body:
        raise Forbidden("DeleteObjects needs its body to be signed")
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - no DTDs: ElementTree ignores them
    except ElementTree.ParseError as error:
        raise BadRequest("DeleteObjects body is not XML") from error
    return [element.text or "" for element in root.iter() if element.tag.endswith("Key")]


def sign(
    method: str,
    uri: str,
    headers: Mapping[str, Sequence[str]],
    region: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
) -> dict[str, list[str]]:
    """SigV4 over host, x-amz-date, x-amz-content-sha256 (and the session token)."""
    parts = urlsplit(uri)
    lowered = {name.lower(): list(values) for name, values in headers.items()}
    now = datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    payload = (lowered.get("x-amz-content-sha256") or [UNSIGNED_PAYLOAD])[0]
    signed = {"host": parts.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    if session_token:
        signed["x-amz-security-token"] = session_token
    names = sorted(signed)
    canonical = sigv4.canonical_request(
        method.upper(),
        parts.path or "/",
        sigv4.canonical_query(parts.query.encode("latin-1")),
        [(name, sigv4.canonical_header_value([signed[name]])) for name in names],
        payload,
    )
    scope = f"{now.strftime('%Y%m%d')}/{region}/s3/aws4_request"
    key = sigv4.signing_key(secret_access_key, now.strftime("%Y%m%d"), region, "s3")
    signature = sigv4.sign(key, sigv4.string_to_sign(amz_date, scope, canonical))
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    added = {"Authorization": [authorization], "x-amz-date": [amz_date]}
    if "x-amz-content-sha256" not in lowered:
        added["x-amz-content-sha256"] = [payload]
    if session_token:
        added["x-amz-security-token"] = [session_token]
    return added


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
