"""The `icefloe` command: serve, migrate, and manage warehouses."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from catalog.app import build_catalog, create_app
from catalog.connect import duckdb_snippet, pyiceberg_snippet, spark_snippet
from catalog.exceptions import CatalogError
from catalog.logging import configure_logging
from catalog.service.catalog import CatalogService
from catalog.settings import Settings
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import current_revision, head_revision, upgrade

app = typer.Typer(
    name="icefloe",
    help="An Apache Iceberg REST catalog with an embedded object store.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
warehouse_app = typer.Typer(help="Create, list and delete warehouses.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
console = Console()
log = logging.getLogger("icefloe.cli")

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


def load_settings(**overrides: Any) -> Settings:
    """Environment (`ICEFLOE_*`) first, then the flags that were given."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def print_connection_help(settings: Settings, warehouse: str) -> None:
    uri = settings.base_url
    console.print(
        Panel.fit(
            f"[bold]icefloe[/bold] is serving the Iceberg REST catalog at [cyan]{uri}[/cyan]\n"
            f"warehouse [bold]{warehouse}[/bold] · data in {settings.data_dir.resolve()}",
            border_style="cyan",
        )
    )
    for title, code in (
        ("PyIceberg", pyiceberg_snippet(uri, warehouse)),
        ("DuckDB", duckdb_snippet(uri, warehouse)),
        ("Spark", spark_snippet(uri, warehouse)),
    ):
        console.print(f"\n[bold]{title}[/bold]")
        console.print(code, soft_wrap=True, highlight=False, markup=False)


def ensure_default_warehouse(catalog: CatalogService, settings: Settings) -> str:
    """On first start with an empty catalog, create the default warehouse."""
    existing = catalog.warehouses.list()
    if existing:
        names = [w.name for w in existing]
        return settings.default_warehouse if settings.default_warehouse in names else names[0]
    catalog.warehouses.ensure(settings.default_warehouse, settings.default_warehouse_location, {})
    return settings.default_warehouse


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Catalog port.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    public_url: Annotated[
        str | None, typer.Option(help="URL clients use, when behind a proxy.", show_default=False)
    ] = None,
    log_format: Annotated[str | None, typer.Option(help="console or json.")] = None,
) -> None:
    """Run the catalog (creating the database and a default warehouse on first start)."""
    settings = load_settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        log_format=log_format,
    )
    configure_logging(settings.log_level, settings.log_format)
    try:
        catalog = build_catalog(settings)
        warehouse = ensure_default_warehouse(catalog, settings)
    except CatalogError as error:
        raise _fail(error.message) from error
    print_connection_help(settings, warehouse)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, catalog),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    )
    server.run()


@app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the database schema to the newest version."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_catalog_engine(settings.resolved_database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        console.print(f"Database is up to date (revision {after}).")
    else:
        console.print(
            f"Migrated database from {before or 'empty'} to {after} (head {head_revision()})."
        )


@warehouse_app.command("create")
def warehouse_create(
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits, '-' and '_'.")],
    location: Annotated[str, typer.Argument(help="file:///path or s3://bucket/prefix")],
    endpoint: Annotated[str | None, typer.Option(help="S3 endpoint URL (R2, MinIO, ...).")] = None,
    region: Annotated[str, typer.Option(help="S3 region; R2 uses 'auto'.")] = "auto",
    access_key_id: Annotated[str | None, typer.Option(envvar="ICEFLOE_S3_ACCESS_KEY_ID")] = None,
    secret_access_key: Annotated[
        str | None, typer.Option(envvar="ICEFLOE_S3_SECRET_ACCESS_KEY")
    ] = None,
    path_style: Annotated[bool, typer.Option(help="Path-style bucket addressing.")] = True,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a warehouse after checking that its storage can be written, listed and read."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    catalog = build_catalog(settings)
    storage: dict[str, Any] = {}
    if location.startswith("s3"):
        storage = {"type": "s3", "region": region, "path-style-access": path_style}
        if endpoint:
            storage["endpoint"] = endpoint
        if access_key_id and secret_access_key:
            storage["access-key-id"] = access_key_id
            storage["secret-access-key"] = secret_access_key
    try:
        created = catalog.warehouses.create(name, location, storage)
    except CatalogError as error:
        raise _fail(error.message) from error
    console.print(f"Created warehouse [bold]{created.name}[/bold] at {created.location}")


@warehouse_app.command("list")
def warehouse_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List warehouses."""
    catalog = build_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    table = Table("name", "location", "storage", "created")
    for warehouse in catalog.warehouses.list():
        table.add_row(
            warehouse.name,
            warehouse.location,
            str(warehouse.storage.get("type", "local")),
            warehouse.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@warehouse_app.command("delete")
def warehouse_delete(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete an empty warehouse (its files are left in place)."""
    catalog = build_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        catalog.warehouses.delete(name)
    except CatalogError as error:
        raise _fail(error.message) from error
    console.print(f"Deleted warehouse [bold]{name}[/bold]")


def main() -> None:
    app()
