"""A reverse proxy that breaks a seeded fraction of HTTP requests on their way to a store.

One request per connection (the proxy asks the upstream to close, and closes the client's
connection after each response), so every fault hits exactly one request. Faults:

- `error500` / `error503`: answer with an S3 XML error, the request never reaches the store;
- `stall`: hold the request past the client's patience, then drop the connection unanswered;
- `reset`: drop the connection without forwarding anything;
- `lost_response`: forward the request (the store acts on it), then drop the response;
- `partial_upload`: forward only half of the request body, then drop both connections;
- `truncated_response`: forward, then pass on only half of the response bytes.
"""

from __future__ import annotations

import random
import socket
import socketserver
import threading
import time
from collections import Counter

from tests.support.ports import free_port

FAULTS = (
    "error500",
    "error503",
    "stall",
    "reset",
    "lost_response",
    "partial_upload",
    "truncated_response",
)


def _error(status: int, code: str) -> bytes:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>injected fault</Message></Error>"
    ).encode()
    reason = {500: "Internal Server Error", 503: "Service Unavailable"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


def _read_request(sock: socket.socket) -> bytes | None:
    """One whole request (head and a Content-Length or chunked body), or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    }
    if headers.get(b"expect", b"").lower() == b"100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # else curl waits a second for it
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
    else:
        length = int(headers.get(b"content-length", b"0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
    lines = [
        line
        for line in head.split(b"\r\n")
        if not line.lower().startswith((b"connection:", b"keep-alive:", b"expect:"))
    ]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _drop(sock: socket.socket) -> None:
    """Close with a reset (RST), as a crashed peer or a middlebox would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


class FaultProxy:
    def __init__(
        self, upstream_port: int, *, seed: int, rate: float = 0.0, stall_seconds: float = 3.5
    ) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.rate = rate
        self.stall_seconds = stall_seconds
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _choose(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self._rng.random() >= self.rate:
                return None
            fault = self._rng.choice(FAULTS)
            self.injected[fault] += 1
            return fault

    def _serve(self, client: socket.socket) -> None:
        request = _read_request(client)
        if request is None:
            return
        fault = self._choose()
        if fault in ("error500", "error503"):
            status = 500 if fault == "error500" else 503
            client.sendall(_error(status, "InternalError" if status == 500 else "SlowDown"))
            return
        if fault == "stall":
            time.sleep(self.stall_seconds)
            _drop(client)
            return
        if fault == "reset":
            _drop(client)
            return
        with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            if fault == "partial_upload":
                head, _, body = request.partition(b"\r\n\r\n")
                upstream.sendall(head + b"\r\n\r\n" + body[: len(body) // 2])
                _drop(upstream)
                _drop(client)
                return
            upstream.sendall(request)
            response = _read_all(upstream)
        if fault == "lost_response":
            _drop(client)
        elif fault == "truncated_response":
            client.sendall(response[: len(response) // 2])
            _drop(client)
        else:
            client.sendall(response)
