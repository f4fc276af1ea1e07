"""The parsed view of one HTTP request: who it addresses (bucket, key) and how it is sent.

Both addressing styles are resolved here: path style (`/bucket/key`) and virtual-host
style (`bucket.<domain>/key`), so handlers only ever see a bucket and a decoded key.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from starlette.types import Message, Receive, Scope

from storage.s3 import errors
from storage.s3.headers import Headers
from storage.s3.names import check_bucket_name, check_key


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


def parse_query(raw: bytes) -> dict[str, str]:
    """Each parameter, percent-decoded (a '+' stays a '+', as S3 reads it).

    A parameter given twice is refused: stores differ on which one counts (the first here,
    the last in Python's `parse_qsl`), and a signer that checked one while the store used
    the other (`?prefix=outside/&prefix=inside/`) would sign a request it never saw.
    """
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
        if key in params:
            raise errors.InvalidArgument(f"The query parameter {key!r} is given more than once.")
        params[key] = decoded
    return params


def parse_copy_source(value: str) -> tuple[str, str]:
    """(bucket, key) of an `x-amz-copy-source` header: the object a copy reads."""
    raw = value.strip()
    if "?versionId=" in raw:
        raw, version = raw.split("?versionId=", 1)
        if version not in ("", "null"):
            raise errors.NotImplementedError_("Object versions are not supported.")
    try:
        decoded = unquote(raw, errors="strict").lstrip("/")
    except UnicodeDecodeError:
        raise errors.InvalidArgument("Copy Source must be valid UTF-8.") from None
    bucket, sep, key = decoded.partition("/")
    if not sep or not key:
        raise errors.InvalidArgument("Copy Source must mention the source bucket and key.")
    check_bucket_name(bucket)
    check_key(key)
    return bucket, key


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


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

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, Sequence[str]],
        virtual_host_domains: tuple[str, ...],
    ) -> S3Request:
        """The request a client sends to `url`, as the store will read it (for the catalog's
        remote signer, which sees a URL and headers, not a connection). The Host header is
        the URL's authority: the signature covers it, so the store sees the same one."""
        parts = urlsplit(url)
        # A client sends no user info in the Host header: a URL with some would be read here
        # with a host the store never sees.
        if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
            raise errors.InvalidURI()
        raw: list[tuple[bytes, bytes]] = [(b"host", parts.netloc.encode())]
        for name, values in headers.items():
            if name.lower() != "host":
                raw += [(name.lower().encode(), value.encode()) for value in values]
        scope: Scope = {
            "type": "http",
            "method": method.upper(),
            "path": unquote(parts.path),
            "raw_path": (parts.path or "/").encode(),
            "query_string": parts.query.encode(),
            "headers": raw,
        }
        return cls.from_scope(scope, _no_body, virtual_host_domains)

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
