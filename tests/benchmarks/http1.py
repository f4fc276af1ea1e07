"""A minimal HTTP/1.1 keep-alive client on an asyncio Protocol, for load generation only.

Why not httpx: on one core httpx's async client spends more CPU per request than uvicorn spends
serving a bare ASGI response, so against the ceiling baseline it would measure itself. This
client pre-encodes requests and parses only the status line and Content-Length, which is all a
load generator needs; it refuses anything it does not understand (chunked bodies) rather than
guess. Setup and checks use httpx as usual.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


class ProtocolError(Exception):
    """The server answered in a form this client does not parse."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: bytes
    body: bytes


def encode_request(
    method: str,
    path: str,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _content_length(head: bytes, status: int) -> int:
    lowered = head.lower()
    marker = lowered.find(b"\r\ncontent-length:")
    if marker >= 0:
        start = marker + len(b"\r\ncontent-length:")
        end = lowered.find(b"\r\n", start)
        return int(lowered[start : end if end >= 0 else None])
    if status in (204, 304) or 100 <= status < 200:
        return 0
    if b"\r\ntransfer-encoding:" in lowered:
        raise ProtocolError("chunked responses are not supported by the load generator")
    raise ProtocolError(f"response {status} without Content-Length")


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time (a closed-loop client)."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._head_end = -1
        self._status = 0
        self._length = 0

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # TCP: a full Transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ConnectionResetError("server closed the connection"))
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head_end < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            try:
                self._status = int(head[9:12])
                self._length = _content_length(head, self._status)
            except (ValueError, ProtocolError) as error:
                waiter.set_exception(ProtocolError(str(error)))
                return
            self._head_end = end + 4
        if len(self._buffer) - self._head_end < self._length:
            return
        stop = self._head_end + self._length
        response = Response(
            self._status,
            bytes(self._buffer[: self._head_end]),
            bytes(self._buffer[self._head_end : stop]),
        )
        del self._buffer[:stop]
        self._head_end = -1
        waiter.set_result(response)

    async def send(self, request: bytes) -> Response:
        if self._transport is None:
            raise ConnectionResetError("connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
