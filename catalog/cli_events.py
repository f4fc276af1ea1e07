"""`icefloe events tail [--follow]`: the change events, read from a running server.

It pages through the admin API (`GET /admin/v1/events`) of the server at `--url` (default:
the address `serve` listens on, from the same settings) with an admin token (`--token`,
`ICEFLOE_TOKEN`, or the `admin.token` that `serve` wrote into the data directory). Events are
positioned by the server's dispatcher, so a server must be running, which a poller needs
anyway.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.console import Console

from catalog.cli_options import fail
from catalog.data_dir import ADMIN_TOKEN_FILE
from catalog.settings import Settings

console = Console(highlight=False)
events_app = typer.Typer(help="Read the change events (docs/events.md).", no_args_is_help=True)


def _token(given: str | None, settings: Settings) -> str:
    if given:
        return given
    path = settings.data_dir / ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip()
    except OSError as error:
        raise fail(f"no --token given and no admin token at {path}: {error.strerror}") from error


def _line(event: dict[str, Any]) -> str:
    return f"{event.get('time', '')}  {event.get('type', '')}  {event.get('subject', '')}"


def _page(client: httpx.Client, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    try:
        response = client.get("/admin/v1/events", params={"after": after, "limit": limit})
    except httpx.HTTPError as error:
        raise fail(f"cannot reach the catalog at {client.base_url}: {error}") from error
    if response.status_code != 200:
        raise fail(f"the catalog answered {response.status_code}: {response.text[:500]}")
    body = response.json()
    return body["events"], int(body["next-after"])


@events_app.command("tail")
def events_tail(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep waiting for new events.")
    ] = False,
    after: Annotated[int, typer.Option(help="Start after this cursor (0: the first event).")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One CloudEvent JSON object per line.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            help="The catalog's URL (default: where `serve` listens).", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="ICEFLOE_TOKEN", help="An admin token.", show_default=False),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where `serve` keeps its admin token.", show_default=False),
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between polls with --follow.")] = 1.0,
) -> None:
    """Print change events oldest first, each with its cursor; --follow waits for more."""
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    base = (url or settings.base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {_token(token, settings)}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while True:
            events, following = _page(client, after, 1000)
            for event in events:
                if as_json:
                    console.print(orjson.dumps(event).decode(), markup=False, soft_wrap=True)
                else:
                    console.print(_line(event), markup=False, soft_wrap=True)
            after = following
            if events:
                continue
            if not follow:
                return
            time.sleep(interval)
