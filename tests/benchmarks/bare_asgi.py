"""The loadTable ceiling: a bare ASGI callable that answers every GET with the same cached bytes
(or 304 when the client's ETag matches), served by `catalog.server.run`, the very function
`icefloe serve` runs its apps with (one uvicorn server, its settings, its port dispatch). No
routing, no validation, no database, no thread hop: what is left is the cost of our process
model (one process, one event loop, HTTP parsing) per request.

    python -m tests.benchmarks.bare_asgi --port PORT --body-file FILE --etag '"..."'
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from catalog.server import run

Scope = dict[str, Any]


def make_app(body: bytes, etag: str) -> Any:
    ok_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"etag", etag.encode()),
    ]
    not_modified_headers = [(b"etag", etag.encode())]
    wanted = etag.encode()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if_none_match = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        if if_none_match == wanted:
            await send(
                {"type": "http.response.start", "status": 304, "headers": not_modified_headers}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": ok_headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--etag", required=True)
    args = parser.parse_args()
    app = make_app(args.body_file.read_bytes(), args.etag)
    run({args.port: app}, "127.0.0.1")


if __name__ == "__main__":
    main()
