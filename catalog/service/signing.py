"""Remote signing: the catalog signs a client's S3 request when, and only when, it stays in the
table's location and the caller may do that there.

What a request touches is read by the store's own parser (`storage.s3.scope.request_scope`) and
judged by the store's own rule (`storage.s3.authz.permits`) against a grant for the table's
location: the signer signs exactly what a credential confined to the table could do, whatever
credential it signs with. Only the headers the client must add are returned (PyIceberg adds them
to its request; re-sending its own would double them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from catalog.exceptions import BadRequest, Forbidden
from storage.s3 import sigv4
from storage.s3.authz import Access, Touch, permits
from storage.s3.config import DEFAULT_VIRTUAL_HOST_DOMAINS
from storage.s3.credentials import Grant
from storage.s3.errors import S3Error
from storage.s3.request import S3Request
from storage.s3.scope import RequestScope, request_scope

READ_METHODS = {"GET", "HEAD"}
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_OBJECT_ACCESS = (Access.READ, Access.WRITE, Access.LIST)


def virtual_host_domains(profile: Mapping[str, Any]) -> tuple[str, ...]:
    """The hosts under which `<bucket>.<host>` names a bucket, as the warehouse's store reads
    them: the embedded store's own setting, else the endpoint's host (R2, MinIO), else AWS's."""
    if profile.get("type") == "embedded":
        return DEFAULT_VIRTUAL_HOST_DOMAINS
    endpoint = profile.get("endpoint")
    if endpoint:
        host = urlsplit(str(endpoint)).hostname
        return (host,) if host else ()
    region = str(profile.get("region") or "us-east-1")
    return (f"s3.{region}.amazonaws.com", "s3.amazonaws.com")


def parse_request(
    method: str,
    uri: str,
    headers: Mapping[str, Sequence[str]],
    body: str | None,
    profile: Mapping[str, Any],
) -> RequestScope:
    """What the request would touch on the store: 400 for a request the store would refuse
    as malformed (a repeated query parameter, a key that is not UTF-8, a body that is not XML)."""
    try:
        request = S3Request.from_url(method, uri, headers, virtual_host_domains(profile))
        return request_scope(request, None if body is None else body.encode())
    except S3Error as error:
        raise BadRequest(f"Not an S3 request the store accepts: {error.message}") from error


def table_grant(table_location: str, may_write: bool) -> Grant:
    """The grant of a credential vended for the table: its bucket and its folder."""
    parts = urlsplit(table_location)
    folder = parts.path.strip("/")
    return Grant(
        bucket=parts.netloc,
        prefixes=(folder + "/" if folder else "",),
        permission="object-read-write" if may_write else "object-read-only",
    )


def check_scope(method: str, scope: RequestScope, table_location: str, may_write: bool) -> None:
    """Forbidden unless every bucket, key and prefix the request touches lies in the table."""
    if method.upper() not in READ_METHODS and not may_write:
        raise Forbidden(f"{method.upper()} needs write access to this table")
    grant = table_grant(table_location, may_write)
    for touch in scope.touches:
        if touch.access is Access.WRITE_EACH:
            raise Forbidden("DeleteObjects needs its body to be signed")
        if touch.access not in _OBJECT_ACCESS:
            raise Forbidden("Only requests within this table's location are signed")
        if not permits(grant, touch):
            raise Forbidden(_outside(touch))


def located_object(scope: RequestScope) -> tuple[str, str] | None:
    """(bucket, key or prefix) of the first object the request touches: where its table is."""
    for touch in scope.touches:
        if touch.access in _OBJECT_ACCESS and touch.bucket is not None and touch.key:
            return touch.bucket, touch.key
    return None


def signed_payload(scope: RequestScope, body: str | None) -> str | None:
    """The payload hash a signature must cover: DeleteObjects' keys are in its body, so a
    signature over UNSIGNED-PAYLOAD would let another body (other keys) ride on it."""
    if scope.operation == "DeleteObjects" and body is not None:
        return payload_hash(body.encode())
    return None


def _outside(touch: Touch) -> str:
    if touch.access is Access.LIST:
        return "The listing's prefix lies outside this table's location"
    return "The request's object lies outside this table's location"


def sign(
    method: str,
    uri: str,
    headers: Mapping[str, Sequence[str]],
    region: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
    payload: str | None = None,
) -> dict[str, list[str]]:
    """SigV4 over host, x-amz-date, x-amz-content-sha256 (and the session token). With
    `payload`, the signature covers that body hash and no other."""
    parts = urlsplit(uri)
    lowered = {name.lower(): list(values) for name, values in headers.items()}
    now = datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    given = next(iter(lowered.get("x-amz-content-sha256") or []), None)
    if payload is None:
        payload = given or UNSIGNED_PAYLOAD
    elif given not in (None, payload):
        raise Forbidden("The request's x-amz-content-sha256 must be the hash of the body checked")
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
