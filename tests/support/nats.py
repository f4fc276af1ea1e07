"""A throwaway nats-server on a free port (Debian's `nats-server`, installed by ./dev)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port


def find_nats_server() -> str | None:
    found = shutil.which("nats-server")
    if found:
        return found
    debian = Path("/usr/sbin/nats-server")
    return str(debian) if debian.exists() else None


@contextmanager
def nats_server() -> Iterator[str]:
    """Start nats-server on 127.0.0.1; yields its URL."""
    binary = find_nats_server()
    if binary is None:
        raise RuntimeError("nats-server is not installed: run the suite through ./dev test")
    port = free_port()
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("nats-server did not start") from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
