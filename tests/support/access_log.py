"""Which path answered a request: its access log line ends with `via=fast` when a pre-router
fast path did (catalog/api/fast.py). The server must log at INFO."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.support.server import CatalogServer


def via(server: CatalogServer, request_id: str) -> str:
    """`fast` or `full`: which path answered the request with this id, from its log line."""
    deadline = time.monotonic() + 10
    while True:
        for line in server.logged().splitlines():
            if "event=request " in line and f"request_id={request_id}" in line:
                return "fast" if line.endswith(" via=fast") else "full"
        assert time.monotonic() < deadline, f"no access log line for {request_id}"
        time.sleep(0.05)


def send(
    http: httpx.Client, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
) -> tuple[httpx.Response, str]:
    """The response, and the request id to ask `via` about."""
    request_id = uuid.uuid4().hex
    response = http.request(
        method, path, headers={"X-Request-Id": request_id, **(headers or {})}, **kw
    )
    return response, request_id
