"""AWS Signature Version 4, as S3 defines it: canonical requests and signing keys.

Pure functions over strings and bytes, so the verifier in `auth` and the chunk
verifier in `chunked` share one definition of the maths.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote_from_bytes, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class CredentialScope:
    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    @classmethod
    def parse(cls, credential: str) -> CredentialScope | None:
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
            return None
        return cls(parts[0], parts[1], parts[2], parts[3])


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def uri_encode_path(raw: bytes) -> str:
    """The canonical form of a path: every byte but unreserved characters and '/' escaped."""
    return quote_from_bytes(raw, safe="/")


def canonical_uri_candidates(raw_path: bytes) -> list[str]:
    """The path as the client sent it, and re-encoded from its decoded bytes.

    botocore signs the path exactly as sent; other SDKs sign a normalised encoding.
    Both derive from the same request target, so accepting either weakens nothing.
    """
    as_sent = raw_path.decode("latin-1") or "/"
    normalised = uri_encode_path(unquote_to_bytes(raw_path)) or "/"
    return [as_sent] if as_sent == normalised else [as_sent, normalised]


def canonical_query(raw_query: bytes, *, exclude: str | None = None) -> str:
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        dec_name = unquote_to_bytes(name)
        if exclude is not None and dec_name == exclude.encode():
            continue
        pairs.append(
            (
                quote_from_bytes(dec_name, safe=""),
                quote_from_bytes(unquote_to_bytes(value), safe=""),
            )
        )
    pairs.sort()
    return "&".join(f"{n}={v}" for n, v in pairs)


def canonical_header_value(values: list[str]) -> str:
    return ",".join(" ".join(v.split()) for v in values)


def canonical_request(
    method: str,
    canonical_uri: str,
    canonical_query_string: str,
    headers: list[tuple[str, str]],
    payload_hash: str,
) -> str:
    """`headers` are (lowercase name, canonical value) pairs in signed-header order."""
    header_block = "".join(f"{name}:{value}\n" for name, value in headers)
    signed = ";".join(name for name, _ in headers)
    return "\n".join(
        (method, canonical_uri, canonical_query_string, header_block, signed, payload_hash)
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def chunk_string_to_sign(amz_date: str, scope: str, previous: str, chunk_sha256: str) -> str:
    return f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{chunk_sha256}"


def trailer_string_to_sign(amz_date: str, scope: str, previous: str, trailer_sha256: str) -> str:
    return f"{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous}\n{trailer_sha256}"


@dataclass(frozen=True)
class ChunkSigner:
    """What a streaming (aws-chunked) body's chunk signatures are chained from."""

    key: bytes
    amz_date: str
    scope: str
    seed_signature: str
