"""Per-request state handed to operation handlers, and helpers they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, TypeVar

from storage.s3 import errors
from storage.s3.auth import PayloadContract, Principal
from storage.s3.config import S3ServerConfig
from storage.s3.headers import Headers
from storage.s3.index import ObjectAttrs, ObjectRow
from storage.s3.request import S3Request
from storage.s3.store import Bucket, ObjectStore

T = TypeVar("T")

SYSTEM_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)
MAX_METADATA_BYTES = 2048
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


@dataclass
class Context:
    request: S3Request
    principal: Principal
    contract: PayloadContract
    store: ObjectStore
    config: S3ServerConfig
    run_sync: Callable[..., Awaitable[Any]]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        result: T = await self.run_sync(fn, *args)
        return result

    async def bucket(self) -> Bucket:
        assert self.request.bucket is not None
        return await self.run(self.store.bucket, self.request.bucket)

    @property
    def key(self) -> str:
        assert self.request.key is not None
        return self.request.key


def http_date(ns: int) -> str:
    return formatdate(ns // 1_000_000_000, usegmt=True)


def attrs_from_headers(headers: Headers) -> ObjectAttrs:
    """The metadata a PUT/CreateMultipartUpload/CopyObject(REPLACE) sets on an object."""
    system: dict[str, str] = {}
    for name in SYSTEM_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        if name == "content-encoding":
            codings = [c.strip() for c in value.split(",") if c.strip().lower() != "aws-chunked"]
            if not codings:
                continue
            value = ",".join(codings)
        system[name] = value
    metadata: dict[str, str] = {}
    for name, values in headers.items():
        if name.startswith("x-amz-meta-"):
            metadata[name.removeprefix("x-amz-meta-")] = ",".join(values)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise errors.MetadataTooLarge(Size=str(size), MaxSizeAllowed=str(MAX_METADATA_BYTES))
    return ObjectAttrs(content_type=headers.get("content-type"), system=system, metadata=metadata)


def object_headers(row: ObjectRow) -> list[tuple[str, str]]:
    """Headers describing an object on GET/HEAD (length and range excluded)."""
    attrs = row.attrs
    headers = [
        ("etag", f'"{row.etag}"'),
        ("last-modified", http_date(row.last_modified_ns)),
        ("content-type", attrs.content_type or DEFAULT_CONTENT_TYPE),
        ("accept-ranges", "bytes"),
    ]
    headers += list(attrs.system.items())
    headers += [(f"x-amz-meta-{k}", v) for k, v in attrs.metadata.items()]
    if attrs.parts_count is not None:
        headers.append(("x-amz-mp-parts-count", str(attrs.parts_count)))
    return headers
