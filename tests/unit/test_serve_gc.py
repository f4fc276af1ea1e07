"""A serving process leaves what startup made out of the garbage collector's full collections:
they walked every module, model and mapping the process holds on each run, a pause of the event
loop of 100+ ms (docs/performance.md)."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator

import pytest
import uvicorn

from catalog import server


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_serving_freezes_what_startup_made(unfrozen: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector's generations no longer hold the startup objects when uvicorn starts."""
    collected: list[set[int]] = []

    def run(_server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        collected.append({id(o) for o in gc.get_objects()})

    monkeypatch.setattr(uvicorn.Server, "run", run)
    startup_objects = [[index] for index in range(1_000)]
    sock = server.listen("127.0.0.1", 0)
    try:
        server.serve({sock.getsockname()[1]: lambda *_: None}, [sock])  # type: ignore[dict-item]
    finally:
        sock.close()
    assert collected, "uvicorn was not started"
    assert not any(id(o) in collected[0] for o in startup_objects)
