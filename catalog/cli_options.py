"""What every `icefloe` command group shares: the options that open the catalog's database
directly, and how a command fails (one red line and exit status 1, never a traceback)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from catalog.app import build_catalog
from catalog.exceptions import CatalogError
from catalog.service.catalog import CatalogService
from catalog.settings import Settings

errors = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where SQLite and files live.", show_default=False)
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: SQLite in the data dir).",
        show_default=False,
    ),
]
Warehouse = Annotated[str, typer.Option("--warehouse", "-w", help="The warehouse.")]


def fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def settings_from(data_dir: Path | str | None, database_url: str | None) -> Settings:
    """Environment (`ICEFLOE_*`) first, then the flags that were given."""
    given = {"data_dir": data_dir, "database_url": database_url}
    return Settings.model_validate({k: v for k, v in given.items() if v is not None})


def open_catalog(settings: Settings) -> CatalogService:
    """The catalog for a CLI command; a catalog error (a wrong secrets key, say) is a message,
    not a traceback."""
    try:
        return build_catalog(settings)
    except CatalogError as error:
        raise fail(error.message) from error


def catalog_at(data_dir: Path | None, database_url: str | None) -> CatalogService:
    """The catalog a command's --data-dir / --database-url name (else the environment's)."""
    return open_catalog(settings_from(data_dir, database_url))
