"""The `icefloe` command: serve, migrate, and manage warehouses."""

from __future__ import annotations

import logging
import os
import signal
import socket
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from catalog import data_dir as files
from catalog import server
from catalog.app import build_catalog, create_app
from catalog.auth.access_tokens import load_or_create_signing_key
from catalog.cli_events import events_app
from catalog.cli_functions import function_app
from catalog.cli_governance import namespace_app, protect, trash_app, undrop, unprotect
from catalog.cli_maintain import maintain_app
from catalog.cli_options import DatabaseUrl, DataDir, fail, open_catalog
from catalog.connect import duckdb_snippet, pyiceberg_snippet, spark_snippet
from catalog.data_dir import ADMIN_TOKEN_FILE
from catalog.embedded_store import EmbeddedStore, record_endpoint
from catalog.exceptions import CatalogError
from catalog.logging import configure_logging
from catalog.observability.metrics import prepare_multiprocess
from catalog.service.approval import ApprovalSettings
from catalog.service.catalog import CatalogService
from catalog.settings import Settings
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import current_revision, head_revision
from catalog.workers import (
    SPREAD_BY_KERNEL,
    Supervisor,
    WorkerCount,
    available_cores,
    is_sqlite_url,
    served_apps,
    worker_count,
)
from storage.s3 import S3Application

app = typer.Typer(
    name="icefloe",
    help="An Apache Iceberg REST catalog with an embedded object store.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
warehouse_app = typer.Typer(help="Create, list and delete warehouses.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
approval_app = typer.Typer(
    help="Show, set and clear a warehouse's commit approval.", no_args_is_help=True
)
warehouse_app.add_typer(approval_app, name="approval")
token_app = typer.Typer(help="Create, list, rotate and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(maintain_app, name="maintain")
app.add_typer(trash_app, name="trash")
app.add_typer(namespace_app, name="namespace")
app.command()(undrop)
app.command()(protect)
app.command()(unprotect)
app.add_typer(events_app, name="events")
app.add_typer(function_app, name="function")
console = Console()
log = logging.getLogger("icefloe.cli")


def load_settings(**overrides: Any) -> Settings:
    """Environment (`ICEFLOE_*`) first, then the flags that were given."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def print_connection_help(
    settings: Settings, warehouse: str, embedded: EmbeddedStore | None, workers: int = 1
) -> None:
    uri = settings.base_url
    token_file = (settings.data_dir / ADMIN_TOKEN_FILE).resolve() if settings.auth_enabled else None
    console.print(
        Panel.fit(
            f"[bold]icefloe[/bold] is serving the Iceberg REST catalog at [cyan]{uri}[/cyan]\n"
            f"warehouse [bold]{warehouse}[/bold] · data in {settings.data_dir.resolve()}"
            f" · {workers} worker{'s' if workers > 1 else ''}"
            + (
                f"\nembedded S3 store at [cyan]{embedded.endpoint}[/cyan] (region auto, "
                f"root key {embedded.root.access_key_id})"
                if embedded
                else ""
            ),
            border_style="cyan",
        )
    )
    for title, code in (
        ("PyIceberg", pyiceberg_snippet(uri, warehouse, token_file)),
        ("DuckDB", duckdb_snippet(uri, warehouse, token_file)),
        ("Spark", spark_snippet(uri, warehouse, token_file)),
    ):
        console.print(f"\n[bold]{title}[/bold]")
        console.print(code, soft_wrap=True, highlight=False, markup=False)


def ensure_default_warehouse(
    catalog: CatalogService, settings: Settings, embedded: EmbeddedStore | None
) -> str:
    """On first start with an empty catalog, create the default warehouse: a bucket of the
    embedded store when it runs here (clients then get vended credentials), else a folder."""
    existing = catalog.warehouses.list()
    if existing:
        names = [w.name for w in existing]
        return settings.default_warehouse if settings.default_warehouse in names else names[0]
    name = settings.default_warehouse
    kind = settings.default_warehouse_storage or ("embedded" if embedded else "file")
    if kind == "embedded":
        if embedded is None:
            raise CatalogError("the default warehouse is to be embedded, but no store runs here")
        # The store is ours and not yet listening: create the bucket in-process, skip the probe.
        catalog.warehouses.create(name, f"s3://{name}", {"type": "embedded"}, verify=False)
    else:
        catalog.warehouses.create(name, settings.default_warehouse_location, {})
    log.info("event=warehouse_created name=%s storage=%s", name, kind)
    return name


def ensure_admin_token(catalog: CatalogService, settings: Settings) -> None:
    """On first start, an admin token: printed once, kept in the data dir with mode 0600."""
    path = settings.data_dir / ADMIN_TOKEN_FILE
    if catalog.tokens.list():
        if path.exists():
            console.print(f"Admin token: in {path.resolve()}")
        return
    issued = catalog.tokens.create("bootstrap admin", "admin")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(issued.bearer + "\n")
    console.print(
        f"[yellow]Created an admin token (shown once, also saved to {path.resolve()}):[/yellow]"
    )
    console.print(issued.bearer, soft_wrap=True, highlight=False, markup=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Catalog port.")] = None,
    s3_port: Annotated[int | None, typer.Option(help="Embedded S3 store port.")] = None,
    no_embedded_s3: Annotated[
        bool, typer.Option("--no-embedded-s3", help="Do not serve the embedded S3 store.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    public_url: Annotated[
        str | None, typer.Option(help="URL clients use, when behind a proxy.", show_default=False)
    ] = None,
    log_format: Annotated[str | None, typer.Option(help="console or json.")] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Let every caller in as an admin. Never in production."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes serving the ports (ICEFLOE_WORKERS); default: one per core on "
            "PostgreSQL, one on SQLite.",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Also serve GET /metrics here without a token (ICEFLOE_METRICS_PORT); on the "
            "catalog port it needs an admin token.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the catalog (creating the database, a default warehouse and an admin token on first
    start)."""
    settings = load_settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        log_format=log_format,
        auth_enabled=False if no_auth else None,
        s3_port=s3_port,
        embedded_s3=False if no_embedded_s3 else None,
        workers=workers,
        metrics_port=metrics_port,
    )
    configure_logging(settings.log_level, settings.log_format)
    count = worker_count(settings)
    in_memory = files.sqlite_file(settings.resolved_database_url) is None
    if count.count > 1 and is_sqlite_url(settings.resolved_database_url) and in_memory:
        raise fail("an in-memory SQLite database cannot be shared by several workers")
    files.prepare(settings, create=True)
    embedded = EmbeddedStore.serving(settings) if settings.embedded_s3 else None
    s3_app = embedded.local if embedded else None
    if embedded:
        record_endpoint(settings)
    try:
        catalog = build_catalog(settings, embedded)
        warehouse = ensure_default_warehouse(catalog, settings, embedded)
        if settings.auth_enabled:
            ensure_admin_token(catalog, settings)
    except CatalogError as error:
        raise fail(error.message) from error
    if not settings.auth_enabled:
        log.warning("event=auth_disabled detail=every_caller_is_an_admin")
        console.print(
            "[bold red]AUTHENTICATION IS OFF (--no-auth): anyone who can reach this port is an "
            "admin.[/bold red]"
        )
    explain_worker_count(settings, count)
    print_connection_help(settings, warehouse, embedded, count.count)
    if count.count > 1:
        serve_workers(settings, catalog, s3_app, count.count)
        return
    catalog_app = create_app(settings, catalog)
    apps = served_apps(settings, catalog_app, s3_app)
    # uvicorn runs with lifespan off: start the background work here
    scheduler = catalog_app.state.scheduler
    dispatcher = catalog_app.state.dispatcher
    # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler that was
    # there before it: make that an exit that unwinds, so the `finally` below runs.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if scheduler is not None:
            scheduler.start()
        dispatcher.start()
        server.run(apps, settings.host)
    except OSError as error:
        raise fail(str(error)) from error
    finally:
        dispatcher.stop()
        if scheduler is not None:
            scheduler.stop()
        if s3_app is not None:
            s3_app.close()
        catalog.context.store.engine.dispose()  # type: ignore[attr-defined]


def explain_worker_count(settings: Settings, count: WorkerCount) -> None:
    if not is_sqlite_url(settings.resolved_database_url):
        return
    if count.count > 1:
        console.print(
            f"[yellow]{count.count} workers on SQLite:[/yellow] reads are answered in parallel, "
            "but SQLite lets one writer in at a time, so commits wait for each other "
            "(PostgreSQL does not)."
        )
    elif not count.explicit and available_cores() > 1:
        console.print(
            "One worker: the database is SQLite, which lets one writer in at a time. "
            "`--workers N` runs more (reads scale with them, commits still take turns)."
        )


def serve_workers(
    settings: Settings, catalog: CatalogService, s3_app: S3Application | None, count: int
) -> None:
    """The parent of `count` workers: it binds the ports and supervises (`catalog.workers`).
    It keeps the embedded store open, which holds the store's lock shared: no worker, even
    one restarted later, sweeps files another may be writing."""
    # The workers mint access tokens with this key: created once, here, before they start.
    load_or_create_signing_key(settings.data_dir, settings.jwt_signing_key)
    catalog.context.store.engine.dispose()  # type: ignore[attr-defined]
    ports = [settings.port] + ([settings.s3_port] if s3_app is not None else [])
    if settings.metrics_port is not None:
        ports.append(settings.metrics_port)
    prepare_multiprocess(settings.data_dir)
    sockets: list[dict[int, socket.socket]] = [{} for _ in range(count)]
    try:
        for port in ports:
            alone = server.listen(settings.host, port)  # in use: fail here, join no group
            if SPREAD_BY_KERNEL:
                alone.close()
            for own in sockets:
                own[port] = (
                    server.listen(settings.host, port, reuse_port=True)
                    if SPREAD_BY_KERNEL
                    else alone
                )
    except OSError as error:
        raise fail(str(error)) from error
    try:
        code = Supervisor(settings, sockets).run()
    finally:
        for own in sockets:
            for sock in own.values():
                sock.close()
        if s3_app is not None:
            s3_app.close()
    if code:
        raise typer.Exit(code)


@app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the database schema to the newest version (and seal warehouse secrets that an
    older version stored in clear)."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    configure_logging(settings.log_level, settings.log_format)
    files.prepare(settings)
    engine = create_catalog_engine(settings.resolved_database_url)
    before = current_revision(engine)
    engine.dispose()
    catalog = open_catalog(settings)  # migrates, seals
    engine = catalog.context.store.engine  # type: ignore[attr-defined]
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
        str | None,
        typer.Option(
            envvar="ICEFLOE_S3_SECRET_ACCESS_KEY",
            help="Stored sealed with the secrets key. Or env:NAME: the environment variable "
            "NAME, read where the profile is used (by this command's probe too), never stored.",
        ),
    ] = None,
    path_style: Annotated[bool, typer.Option(help="Path-style bucket addressing.")] = True,
    embedded: Annotated[
        bool,
        typer.Option(help="On the embedded store (s3://BUCKET\\[/prefix]); the bucket is created."),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a warehouse after checking that its storage can be written, listed and read."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    catalog = open_catalog(settings)
    storage: dict[str, Any] = {}
    if embedded:
        storage = {"type": "embedded"}
    elif location.startswith("s3"):
        storage = {"type": "s3", "region": region, "path-style-access": path_style}
        if endpoint:
            storage["endpoint"] = endpoint
        if access_key_id and secret_access_key:
            storage["access-key-id"] = access_key_id
            storage["secret-access-key"] = secret_access_key
    try:
        created = catalog.warehouses.create(name, location, storage)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Created warehouse [bold]{created.name}[/bold] at {created.location}")


@warehouse_app.command("list")
def warehouse_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List warehouses."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
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
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        catalog.warehouses.delete(name)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Deleted warehouse [bold]{name}[/bold]")


@approval_app.command("show")
def approval_show(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Show a warehouse's approval endpoint and built-in rules (never the secret)."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        settings = catalog.warehouses.approval(name)
    except CatalogError as error:
        raise fail(error.message) from error
    if settings is None:
        console.print(f"Warehouse [bold]{name}[/bold] approves every commit (no approval set).")
        return
    for key, value in settings.public().items():
        console.print(f"{key}: {value}")


@approval_app.command("set")
def approval_set(
    name: str,
    url: Annotated[str | None, typer.Option(help="The endpoint proposed commits go to.")] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="ICEFLOE_APPROVAL_SECRET",
            help="HMAC key for the signature; stored sealed. Omitted: the stored one is kept.",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 5.0,
    fail_open: Annotated[
        bool,
        typer.Option(
            "--fail-open/--fail-closed",
            help="Whether a commit goes through when the endpoint does not answer.",
        ),
    ] = False,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            help="A built-in rule (repeatable): drop-column, narrow-column, "
            "change-nullability, change-partitioning; refuses such commits by non-admins."
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Have a warehouse's commits approved by an endpoint, built-in rules, or both."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    requested = ApprovalSettings(url, secret, timeout, fail_open, frozenset(rule or ()))
    try:
        catalog.warehouses.set_approval(name, requested)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Commits to warehouse [bold]{name}[/bold] now need approval.")


@approval_app.command("clear")
def approval_clear(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Stop asking for approval: every commit goes through again."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        catalog.warehouses.clear_approval(name)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Commits to warehouse [bold]{name}[/bold] no longer need approval.")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words; each matches the start of a word.")],
    warehouse: Annotated[str | None, typer.Option(help="Only this warehouse.")] = None,
    limit: Annotated[int, typer.Option(help="How many results, best first.")] = 20,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Find namespaces, tables and views by name, column name or property."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        body = catalog.search.search(query, warehouse, None, limit, lambda _: True)
    except CatalogError as error:
        raise fail(error.message) from error
    table = Table("kind", "warehouse", "name", "matched", "columns")
    for hit in orjson.loads(body)["results"]:
        levels = hit.get("namespace") or [
            *hit["identifier"]["namespace"],
            hit["identifier"]["name"],
        ]
        table.add_row(
            hit["kind"],
            hit["warehouse"],
            ".".join(levels),
            ", ".join(hit["matched"]),
            ", ".join(hit.get("matching-columns", [])),
        )
    console.print(table)


def _parse_duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise typer.BadParameter("use a number and a unit: 30m, 12h, 90d")
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for.")],
    permission: Annotated[str, typer.Option(help="admin, read-write or read-only.")] = "read-only",
    warehouse: Annotated[
        list[str] | None, typer.Option("--warehouse", "-w", help="Warehouse(s) it may use.")
    ] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Narrow to a namespace (dotted), and below."),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime, e.g. 12h or 90d; default: no expiry.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; its secret is shown once."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        issued = catalog.tokens.create(
            name,
            permission,
            warehouse,
            [n.split(".") for n in namespace or []],
            _parse_duration(expires_in) if expires_in else None,
        )
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Created token [bold]{issued.record.id}[/bold] ({issued.record.permission}).")
    console.print("Its secret is shown once; keep it safe:")
    console.print(issued.bearer, soft_wrap=True, highlight=False, markup=False)


@token_app.command("list")
def token_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List tokens (never their secrets)."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    table = Table("id", "name", "permission", "warehouses", "namespaces", "expires", "state")
    now = datetime.now(UTC)
    for token in catalog.tokens.list():
        state = "revoked" if token.revoked_at else "active"
        if state == "active" and token.expires_at and token.expires_at <= now:
            state = "expired"
        table.add_row(
            token.id,
            token.name,
            token.permission,
            ", ".join(token.warehouses or ["all"]),
            ", ".join(".".join(n) for n in token.namespaces or []) or "all",
            token.expires_at.strftime("%Y-%m-%d %H:%M") if token.expires_at else "never",
            state,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Revoke a token: running servers refuse it, and every access token obtained with it,
    within a second."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        catalog.tokens.revoke(token_id)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(
        f"Revoked token [bold]{token_id}[/bold]: running servers refuse it, and the access"
        " tokens obtained with it, within a second."
    )


@token_app.command("rotate")
def token_rotate(token_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Give a token a new secret: running servers refuse the old one, and every access token
    obtained with it, within a second."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        issued = catalog.tokens.rotate(token_id)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(
        f"New secret for token [bold]{token_id}[/bold]; running servers refuse the old one, and"
        " the access tokens obtained with it, within a second. Shown once:"
    )
    console.print(issued.bearer, soft_wrap=True, highlight=False, markup=False)


@app.command()
def audit(
    limit: Annotated[int, typer.Option(help="How many events, newest first.")] = 50,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the audit log: every write and admin action, newest first."""
    catalog = open_catalog(load_settings(data_dir=data_dir, database_url=database_url))
    table = Table("time", "principal", "operation", "target", "status", "request id")
    for event in catalog.audit.list(limit):
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.principal,
            event.operation,
            event.target,
            str(event.status),
            event.request_id,
        )
    console.print(table)


def main() -> None:
    app()
