"""Presigned PUT URLs (SigV4 query authentication) that pin the body's type and size.

`content-type` and `content-length` are signed headers, so a store that checks SigV4 (ours,
R2, S3) refuses the URL for another key, another method, another content type, another size
or after `expires` seconds: the URL can do exactly one thing.  The maths is `sigv4`'s, the
same the embedded store verifies with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from storage.s3.sigv4 import (
    ALGORITHM,
    UNSIGNED_PAYLOAD,
    canonical_query,
    canonical_request,
    sign,
    signing_key,
    string_to_sign,
    uri_encode_path,
)


@dataclass(frozen=True)
class SigningKeys:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    region: str


def presign_put(
    endpoint: str,
    bucket: str,
    key: str,
    keys: SigningKeys,
    headers: Mapping[str, str],
    expires: int,
    now: datetime,
) -> str:
    """A path-style URL for `PUT <endpoint>/<bucket>/<key>` that needs exactly `headers`
    (lowercase names) besides `host`."""
    parts = urlsplit(endpoint)
    base_path = parts.path.rstrip("/")
    path = uri_encode_path(f"{base_path}/{bucket}/{key}".encode())
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{keys.region}/s3/aws4_request"
    signed = sorted({"host", *headers})
    values = {**headers, "host": parts.netloc}
    query: dict[str, str] = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{keys.access_key_id}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": ";".join(signed),
    }
    if keys.session_token:
        query["X-Amz-Security-Token"] = keys.session_token
    raw_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    canonical = canonical_request(
        "PUT",
        path,
        canonical_query(raw_query.encode()),
        [(name, " ".join(values[name].split())) for name in signed],
        UNSIGNED_PAYLOAD,
    )
    secret = signing_key(keys.secret_access_key, amz_date[:8], keys.region, "s3")
    signature = sign(secret, string_to_sign(amz_date, scope, canonical))
    return f"{parts.scheme}://{parts.netloc}{path}?{raw_query}&X-Amz-Signature={signature}"
