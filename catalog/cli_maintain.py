"""`icefloe maintain`: run a maintenance job now, list runs, show or set policies.

Like the other admin commands, these open the catalog's database directly (`--data-dir`,
`--database-url`); a job takes the same table lease as the server's scheduler, so it never
overlaps a scheduled run of a server sharing the database.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBar
from rich.table import Table
from typer.core import TyperGroup

from catalog.cli_options import DatabaseUrl, DataDir, Warehouse, fail, open_catalog, settings_from
from catalog.exceptions import CatalogError
from catalog.logging import configure_logging
from catalog.maintenance.control import SKIPPED_COUNT, SKIPPED_FILES, MaintenanceService
from catalog.maintenance.jobs import JobKind, Progress, TableRef

console = Console()
RUN_COMMAND = "run"
SKIPPED_SHOWN = 10  # skipped files listed under a run's figures; the run record has more


class MaintainGroup(TyperGroup):
    """`icefloe maintain TABLE --compact` is short for `icefloe maintain run TABLE --compact`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands:
            args = [RUN_COMMAND, *args]
        return super().parse_args(ctx, args)


maintain_app = typer.Typer(
    cls=MaintainGroup,
    help="Table maintenance: `maintain TABLE --compact|--expire|--orphans [--dry-run]`, "
    "`maintain runs [TABLE]`, `maintain policy [TABLE] [--set key=value ...]`.",
    no_args_is_help=True,
)


def _service(data_dir: Path | None, database_url: str | None) -> MaintenanceService:
    settings = settings_from(data_dir, database_url)
    # Warnings and errors, as before, but through the escaping formatter: a path or name in a
    # warning is a client's text. Progress is the CLI's own output, not INFO log lines.
    level = max(logging.WARNING, logging.getLevelNamesMapping().get(settings.log_level.upper(), 0))
    configure_logging(logging.getLevelName(level), settings.log_format)
    context = open_catalog(settings).context
    return MaintenanceService(
        context, lease_ttl=timedelta(seconds=settings.maintenance_lease_seconds)
    )


def _table_ref(warehouse: str, dotted_name: str) -> TableRef:
    *namespace, name = dotted_name.split(".")
    if not namespace or not name:
        raise fail(f"name the table as NAMESPACE.TABLE, not {dotted_name!r}")
    return TableRef(warehouse, tuple(namespace), name)


@maintain_app.command(RUN_COMMAND)
def maintain_run(
    table: Annotated[str, typer.Argument(help="NAMESPACE.TABLE")],
    compact: Annotated[bool, typer.Option("--compact", help="Rewrite small files.")] = False,
    expire: Annotated[bool, typer.Option("--expire", help="Expire old snapshots.")] = False,
    orphans: Annotated[bool, typer.Option("--orphans", help="Remove orphan files.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only.")] = False,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run jobs on one table now, in this process, and record them as manual runs."""
    kinds = [
        kind
        for kind, wanted in (
            (JobKind.COMPACT, compact),
            (JobKind.EXPIRE, expire),
            (JobKind.ORPHANS, orphans),
        )
        if wanted
    ]
    if not kinds:
        raise fail("choose at least one of --compact, --expire, --orphans")
    ref = _table_ref(warehouse, table)
    service = _service(data_dir, database_url)
    failed = False
    for kind in kinds:
        with ProgressBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(kind.value, total=None)

            def report(step: str, done: int, total: int, task: Any = task) -> None:
                bar.update(task, description=step, completed=done, total=total or None)

            try:
                run = service.run(ref, kind, dry_run=dry_run, progress=Progress(report))
            except CatalogError as error:
                raise fail(error.message) from error
        outcome = {"succeeded": "green", "failed": "red"}.get(run.outcome, "yellow")
        title = (
            f"{kind.value}{' (dry run)' if dry_run else ''} of {warehouse}/{table}: run {run.id}"
        )
        figures = Table("figure", "value", title=title)
        figures.add_row("outcome", f"[{outcome}]{run.outcome}[/{outcome}]")
        for name, value in (
            ("files before", run.files_before),
            ("files after", run.files_after),
            ("bytes rewritten", run.bytes_rewritten),
            ("files deleted", run.files_deleted),
            ("snapshots expired", run.snapshots_expired),
        ):
            figures.add_row(name, f"{value:,}")
        skipped = run.details.get(SKIPPED_FILES, [])
        figures.add_row("files skipped", f"{run.details.get(SKIPPED_COUNT, 0):,}")
        for entry in skipped[:SKIPPED_SHOWN]:
            if isinstance(entry, dict):
                figures.add_row("  skipped", f"{entry.get('path')} ({entry.get('reason')})")
        duration = (run.finished_at - run.started_at).total_seconds()
        figures.add_row("duration", f"{duration:.2f}s")
        if run.error:
            figures.add_row("error", run.error)
        console.print(figures)
        failed = failed or run.outcome == "failed"
    if failed:
        raise typer.Exit(code=1)


@maintain_app.command("runs")
def maintain_runs(
    table: Annotated[str | None, typer.Argument(help="NAMESPACE.TABLE; all when left out")] = None,
    warehouse: Warehouse = "default",
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 50,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List maintenance runs, newest first."""
    service = _service(data_dir, database_url)
    ref = _table_ref(warehouse, table) if table else None
    runs, _ = service.runs(
        warehouse if ref else None,
        ref.namespace if ref else None,
        ref.name if ref else None,
        page_size=limit,
    )
    listing = Table(
        "id", "started", "table", "kind", "trigger", "outcome", "files", "rewritten", "deleted"
    )
    for run in runs:
        listing.add_row(
            str(run.id),
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{run.warehouse}/{'.'.join((*run.namespace, run.table))}",
            run.kind + (" (dry run)" if run.dry_run else ""),
            run.trigger,
            run.outcome,
            f"{run.files_before} → {run.files_after}",
            f"{run.bytes_rewritten:,} B",
            f"{run.files_deleted} files, {run.snapshots_expired} snapshots",
        )
    console.print(listing)


@maintain_app.command("policy")
def maintain_policy(
    table: Annotated[
        str | None, typer.Argument(help="NAMESPACE.TABLE; the warehouse's policy when left out")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="key=value, e.g. expiration.retain-last=5 (repeatable)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop stored keys that --set does not name.")
    ] = False,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show a warehouse's or a table's maintenance policy, or change it with --set."""
    service = _service(data_dir, database_url)
    ref = _table_ref(warehouse, table) if table else None
    try:
        current = service.table_policy(ref) if ref else service.warehouse_policy(warehouse)
        if set_:
            updates: dict[str, Any] = {} if replace else dict(current["settings"])
            for item in set_:
                key, sep, value = item.partition("=")
                if not sep:
                    raise fail(f"--set takes key=value, not {item!r}")
                updates[key.strip()] = value.strip()
            current = (
                service.set_table_policy(ref, updates)
                if ref
                else service.set_warehouse_policy(warehouse, updates)
            )
    except CatalogError as error:
        raise fail(error.message) from error
    listing = Table(
        "setting", "effective", "from", title=f"maintenance policy of {table or warehouse}"
    )
    for key, value in current["effective"].items():
        listing.add_row(key, str(value), current["sources"].get(key, ""))
    console.print(listing)
    for name, reason in current["ignored-properties"].items():
        console.print(f"[yellow]ignored[/yellow] {name}: {reason}")
