"""A local webhook receiver for change events: records what it took, fails when told to."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.ports import free_port


@dataclass
class Receiver:
    """`failure_rate` of the requests answer 500 (seeded); the others are recorded."""

    secret: bytes
    failure_rate: float = 0.0
    seed: int = 17
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def take(self, body: bytes, signature: str | None) -> int:
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        with self.lock:
            if signature is None or not hmac.compare_digest(signature, expected):
                self.bad_signatures += 1
                return 401
            if self._random.random() < self.failure_rate:
                self.refused += 1
                return 500
            self.received.append(json.loads(body))
            return 204

    def ids(self) -> set[str]:
        with self.lock:
            return {event["id"] for event in self.received}


@contextmanager
def webhook_receiver(secret: bytes, failure_rate: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(secret, failure_rate)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.take(body, self.headers.get("X-Icefloe-Signature"))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
