"""The parsed view of one HTTP request: who it addresses (bucket, key) and how it is sent.

Both addressing styles are resolved here: path style (`/bucket/key`) and virtual-host
style (`bucket.<domain>/key`), so handlers only ever see a bucket and a decoded key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from starlette.types import Receive, Scope

from storage.s3 import errors
from storage.s3.headers import Headers


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


def parse_query(raw: bytes) -> dict[str, str]:
    """First value of each parameter, percent-decoded (a '+' stays a '+', as S3 reads it)."""
    params: dict[str, str] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        try:
            key = unquote_to_bytes(name).decode("utf-8")
            decoded = unquote_to_bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidArgument("Query parameters must be valid UTF-8.") from None
        params.setdefault(key, decoded)
    return params


@dataclass
class S3Request:
    scope: Scope
    receive: Receive
    method: str
    raw_path: bytes
    raw_query: bytes
    headers: Headers
    query: dict[str, str]
    bucket: str | None
    key: str | None
    request_id: str = field(default_factory=new_request_id)
    virtual_host: bool = False

    @classmethod
    def from_scope(
        cls, scope: Scope, receive: Receive, virtual_host_domains: tuple[str, ...]
    ) -> S3Request:
        headers = Headers(scope["headers"])
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw_path = raw_path.split(b"?", 1)[0]
        raw_query: bytes = scope.get("query_string", b"")
        request = cls(
            scope=scope,
            receive=receive,
            method=scope["method"].upper(),
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            query={},
            bucket=None,
            key=None,
        )
        request.query = parse_query(raw_query)
        host = (headers.get("host") or "").lower()
        bucket_from_host = _bucket_from_host(host, virtual_host_domains)
        if bucket_from_host is not None:
            request.virtual_host = True
            request.bucket = bucket_from_host
            rest = raw_path[1:] if raw_path.startswith(b"/") else raw_path
            request.key = _decode_key(rest) if rest else None
        else:
            path = raw_path[1:] if raw_path.startswith(b"/") else raw_path
            if path:
                bucket_raw, sep, rest = path.partition(b"/")
                request.bucket = _decode(bucket_raw)
                request.key = _decode_key(rest) if sep and rest else None
        return request

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        try:
            length = int(value)
        except ValueError:
            raise errors.InvalidArgument("Invalid Content-Length.") from None
        if length < 0:
            raise errors.InvalidArgument("Invalid Content-Length.")
        return length

    @property
    def resource(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key is not None else f"/{self.bucket}"


def _bucket_from_host(host: str, domains: tuple[str, ...]) -> str | None:
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    for domain in domains:
        suffix = "." + domain
        if hostname.endswith(suffix) and len(hostname) > len(suffix):
            return hostname[: -len(suffix)]
    return None


def _decode(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidURI() from None


def _decode_key(raw: bytes) -> str:
    key = _decode(raw)
    if "\x00" in key:
        raise errors.InvalidURI()
    return key
