"""A read the fast paths answer is taken at the app's front door, before FastAPI's own outer
layers (catalog/api/front.py), with the request context every request gets; anything else goes
through all of FastAPI as before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware.errors import ServerErrorMiddleware

from catalog.app import build_catalog, create_app
from catalog.cli import ensure_default_warehouse
from catalog.settings import Settings

FAST_READ = "/v1/config?warehouse=default"


@pytest.fixture
def outer_layer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests that went through FastAPI's outermost layer."""
    calls: list[str] = []
    original = ServerErrorMiddleware.__call__

    async def counted(self: ServerErrorMiddleware, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(ServerErrorMiddleware, "__call__", counted)
    yield calls


def requests(tmp_path: Path, paths: list[str]) -> list[httpx.Response]:
    settings = Settings(
        data_dir=tmp_path, embedded_s3=False, maintenance_enabled=False, auth_enabled=False
    )
    catalog = build_catalog(settings)
    ensure_default_warehouse(catalog, settings, None)
    app = create_app(settings, catalog)

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(send_all())


def test_a_fast_read_skips_fastapis_outer_layers_with_the_same_answer(
    tmp_path: Path, outer_layer_calls: list[str]
) -> None:
    first, second, full = requests(tmp_path, [FAST_READ, FAST_READ, "/v1/config?_=1"])
    assert first.status_code == second.status_code == full.status_code == 200
    assert second.content == first.content
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert outer_layer_calls.count("/v1/config") == 2  # the first (it builds the stack) and _=1


def test_what_the_fast_paths_do_not_read_goes_through_all_of_fastapi(
    tmp_path: Path, outer_layer_calls: list[str]
) -> None:
    answers = requests(tmp_path, ["/v1/config?_=1", "/v1/nowhere", "/v1/nowhere"])
    assert [a.status_code for a in answers] == [200, 404, 404]
    assert answers[2].json()["error"]["code"] == 404
    assert outer_layer_calls.count("/v1/nowhere") == 2
