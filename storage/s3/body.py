"""Streaming a request body in: decode, verify and hand the bytes to a sink.

Everything a client promised about its body is checked here before the caller may
commit: the signed SHA-256, Content-MD5, x-amz-checksum-* headers and trailers, chunk
signatures, and the declared length.  Work happens in batches on a worker thread
(hashing and disk writes release the GIL), while the event loop keeps receiving the
next batch, so memory stays flat and throughput close to the disk's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from storage.s3 import errors
from storage.s3.auth import PayloadContract
from storage.s3.checksums import CHECKSUM_ALGORITHMS, Checksum, b64, new_checksum
from storage.s3.chunked import AwsChunkedDecoder
from storage.s3.headers import Headers
from storage.s3.request import S3Request
from storage.s3.sigv4 import STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER

RunSync = Callable[..., Awaitable[Any]]
Sink = Callable[[bytes | memoryview], None]

BATCH_BYTES = 1024 * 1024


class ClientDisconnected(Exception):
    """The client went away mid-body; there is nobody left to answer."""


@dataclass(frozen=True)
class BodyDigest:
    size: int
    md5_hex: str
    checksum: tuple[str, str] | None


def _decode_b64(value: str, length: int | None, header: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw or (length is not None and len(raw) != length):
        if header == "content-md5":
            raise errors.InvalidDigest()
        raise errors.InvalidRequest(f"Value for {header} header is invalid.")
    return raw


_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


class BodyVerifier:
    """Hashes the decoded payload and checks every integrity claim at the end."""

    def __init__(
        self, contract: PayloadContract, headers: Headers, declared_length: int | None
    ) -> None:
        self._contract = contract
        self.size = 0
        self._declared = declared_length
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256() if contract.sha256 is not None else None
        md5_header = headers.get("content-md5")
        self._content_md5 = (
            _decode_b64(md5_header, 16, "content-md5") if md5_header is not None else None
        )
        self._checksum_alg: str | None = None
        self._checksum_expected: bytes | None = None
        self._trailer_name: str | None = None
        for alg in CHECKSUM_ALGORITHMS:
            header = f"x-amz-checksum-{alg.lower()}"
            value = headers.get(header)
            if value is not None:
                if self._checksum_alg is not None:
                    raise errors.InvalidRequest("Expecting a single x-amz-checksum- header.")
                self._checksum_alg = alg
                self._checksum_expected = _decode_b64(value, _DIGEST_SIZES[alg], header)
        trailer = headers.get("x-amz-trailer")
        if trailer is not None:
            if contract.mode not in (STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED_TRAILER):
                raise errors.InvalidRequest("x-amz-trailer requires a streaming trailer payload.")
            name = trailer.strip().lower()
            alg = name.removeprefix("x-amz-checksum-").upper()
            if not name.startswith("x-amz-checksum-") or alg not in _DIGEST_SIZES:
                raise errors.InvalidRequest(f"The trailer {trailer!r} is not supported.")
            if self._checksum_alg is not None:
                raise errors.InvalidRequest("Expecting a single x-amz-checksum- header.")
            self._checksum_alg = alg
            self._trailer_name = name
        self._checksum: Checksum | None = (
            new_checksum(self._checksum_alg) if self._checksum_alg else None
        )

    def update(self, piece: bytes | memoryview) -> None:
        self.size += len(piece)
        self._md5.update(piece)
        if self._sha256 is not None:
            self._sha256.update(piece)
        if self._checksum is not None:
            self._checksum.update(piece)

    def finish(self, trailers: dict[str, str]) -> BodyDigest:
        if self._declared is not None and self.size != self._declared:
            raise errors.IncompleteBody()
        if self._sha256 is not None and self._sha256.hexdigest() != self._contract.sha256:
            raise errors.XAmzContentSHA256Mismatch(
                ClientComputedContentSHA256=self._contract.sha256 or "",
                S3ComputedContentSHA256=self._sha256.hexdigest(),
            )
        md5 = self._md5.digest()
        if self._content_md5 is not None and md5 != self._content_md5:
            raise errors.BadDigest()
        checksum: tuple[str, str] | None = None
        if self._checksum is not None and self._checksum_alg is not None:
            expected = self._checksum_expected
            if self._trailer_name is not None:
                value = trailers.get(self._trailer_name)
                if value is None:
                    raise errors.InvalidRequest(f"The trailer {self._trailer_name} is missing.")
                expected = _decode_b64(value, _DIGEST_SIZES[self._checksum_alg], self._trailer_name)
            actual = self._checksum.digest()
            if actual != expected:
                raise errors.BadDigest(
                    f"The {self._checksum_alg} you specified did not match the calculated checksum."
                )
            checksum = (self._checksum_alg, b64(actual))
        return BodyDigest(self.size, md5.hex(), checksum)


def declared_length(request: S3Request, contract: PayloadContract) -> int | None:
    if contract.chunked:
        value = request.headers.get("x-amz-decoded-content-length")
        if value is None:
            return None
        try:
            length = int(value)
        except ValueError:
            raise errors.InvalidArgument("Invalid x-amz-decoded-content-length.") from None
        if length < 0:
            raise errors.InvalidArgument("Invalid x-amz-decoded-content-length.")
        return length
    return request.content_length


async def pump_body(
    request: S3Request,
    contract: PayloadContract,
    run_sync: RunSync,
    sink: Sink,
    *,
    max_size: int,
) -> BodyDigest:
    """Receive the whole body into `sink`, verified; raises before the caller commits."""
    length = declared_length(request, contract)
    if length is not None and length > max_size:
        raise errors.EntityTooLarge(ProposedSize=str(length), MaxSizeAllowed=str(max_size))
    verifier = BodyVerifier(contract, request.headers, length)
    decoder = (
        AwsChunkedDecoder(
            contract.signer if contract.signer is not None else None,
            allow_trailer=contract.mode in (STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER),
        )
        if contract.chunked
        else None
    )

    def process(data: bytes) -> None:
        pieces: list[bytes | memoryview] = decoder.feed(data) if decoder is not None else [data]
        for piece in pieces:
            if not piece:
                continue
            if verifier.size + len(piece) > max_size or (
                length is not None and verifier.size + len(piece) > length
            ):
                if verifier.size + len(piece) > max_size:
                    raise errors.EntityTooLarge(MaxSizeAllowed=str(max_size))
                raise errors.IncompleteBody("The body is longer than its declared length.")
            verifier.update(piece)
            sink(piece)

    def finish(data: bytes) -> BodyDigest:
        process(data)
        if decoder is not None:
            decoder.finish()
        return verifier.finish(decoder.trailers if decoder is not None else {})

    buffer = bytearray()
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            if chunk:
                buffer += chunk
            more = message.get("more_body", False)
            if len(buffer) >= BATCH_BYTES and more:
                if pending is not None:
                    await pending
                    pending = None
                data = bytes(buffer)
                buffer.clear()
                pending = asyncio.ensure_future(run_sync(process, data))
            if not more:
                break
        if pending is not None:
            await pending
            pending = None
        digest: BodyDigest = await run_sync(finish, bytes(buffer))
        return digest
    finally:
        if pending is not None:
            # The original error is already propagating; this one adds nothing.
            with contextlib.suppress(Exception):
                await pending


async def read_small_body(
    request: S3Request, contract: PayloadContract, run_sync: RunSync, *, limit: int
) -> bytes:
    """A verified body for XML requests, refused (MalformedXML) beyond `limit` bytes."""
    parts: list[bytes] = []
    total = 0

    def sink(piece: bytes | memoryview) -> None:
        nonlocal total
        total += len(piece)
        if total > limit:
            raise errors.MalformedXML("The XML you provided was larger than the maximum allowed.")
        parts.append(bytes(piece))

    await pump_body(request, contract, run_sync, sink, max_size=limit)
    return b"".join(parts)
