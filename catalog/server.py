"""One event loop, two listeners: the catalog API and the embedded S3 store.

uvicorn serves several sockets with one app; `PortDispatch` hands each connection to the app
of the port it arrived on. One server means one signal handler and one orderly shutdown.
With `--workers N`, each worker process runs this server on sockets its parent bound.
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Mapping

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send


class PortDispatch:
    def __init__(self, apps: Mapping[int, ASGIApp]) -> None:
        self._apps = dict(apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or ("", 0)
        app = self._apps.get(server[1])
        if app is None:
            raise RuntimeError(f"no app for port {server[1]}")
        await app(scope, receive, send)


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening socket; with `reuse_port`, one of a group on the same port among which the
    kernel spreads new connections (see `catalog.workers`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(apps: Mapping[int, ASGIApp], host: str) -> None:
    """Serve until SIGINT/SIGTERM. Lifespan events are off: callers close their apps after."""
    serve(apps, [listen(host, port) for port in apps])


def serve(apps: Mapping[int, ASGIApp], sockets: list[socket.socket]) -> None:
    """Serve on sockets already listening (one per app's port, bound here or by the parent of a
    worker, see `catalog.workers`)."""
    freeze_startup_objects()
    config = uvicorn.Config(
        PortDispatch(apps),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=sockets)


def freeze_startup_objects() -> None:
    """Leave what startup made (modules, the app, pyiceberg's and SQLAlchemy's structures:
    ~270,000 objects) out of the cyclic garbage collector's full collections. They live as long
    as the process, yet each full collection walked them all: a 110 ms pause of the event loop,
    every request in flight waiting (docs/performance.md). A request's own garbage is still
    collected as before; only the scan of what will never be garbage goes."""
    gc.collect()
    gc.freeze()
