"""HTTP requests sent byte for byte, for what clients refuse to send: unnormalized `..`
segments, invalid UTF-8, unusual methods, bodies without a content type."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any

from tests.support.server import CatalogServer


@dataclass(frozen=True)
class RawResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send_raw(
    server: CatalogServer,
    method: str,
    target: str | bytes,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    port: int | None = None,
) -> RawResponse:
    """`target` goes on the request line exactly as given: no normalization, no encoding.
    Header values are sent as latin-1 bytes; `port` (else the catalog's) picks the listener."""
    if isinstance(target, str):
        target = target.encode("ascii")
    lines = [method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    all_headers = {"Host": "127.0.0.1", "Connection": "close", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{name}: {value}".encode("latin-1") for name, value in all_headers.items()]
    request = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
    with socket.create_connection(("127.0.0.1", port or server.port), timeout=60) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        payload = response.read()
        return RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        )
