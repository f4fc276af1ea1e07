"""`icefloe trash`, `undrop`, `namespace drop --recursive`, `protect` and `unprotect`.

Like the other admin commands, these open the catalog's database directly (`--data-dir`,
`--database-url`) and act as a catalog admin; what they change is in the audit log with the
principal `icefloe-cli`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from catalog.cli_options import DatabaseUrl, DataDir, Warehouse, catalog_at, fail
from catalog.exceptions import CatalogError
from catalog.service.audit import CLI
from catalog.service.catalog import CatalogService
from catalog.service.protect import Kind
from catalog.store.records import TrashKind

console = Console()

trash_app = typer.Typer(
    help="The trash: dropped tables, views and functions, until their retention ends.",
    no_args_is_help=True,
)
namespace_app = typer.Typer(
    help="Namespaces: drop one with everything in it.", no_args_is_help=True
)


def _identifier(text: str) -> tuple[tuple[str, ...], str]:
    """`ns.t` or `a.b.t`: the last part is the name."""
    parts = text.split(".")
    if len(parts) < 2 or not all(parts):
        raise typer.BadParameter(f"{text!r}: use NAMESPACE.NAME, e.g. sales.orders")
    return tuple(parts[:-1]), parts[-1]


@trash_app.command("list")
def trash_list(
    warehouse: Warehouse = "default", data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """What the trash holds, with when each entry expires and whether it will be purged."""
    catalog = catalog_at(data_dir, database_url)
    try:
        entries = catalog.trash.entries(warehouse)
    except CatalogError as error:
        raise fail(error.message) from error
    table = Table("name", "kind", "dropped", "by", "expires", "at expiry", "id")
    for entry in entries:
        table.add_row(
            ".".join((*entry.namespace, entry.name)),
            entry.kind,
            entry.dropped_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.dropped_by,
            entry.expires_at.strftime("%Y-%m-%d %H:%M:%S"),
            "purge files" if entry.purge_requested else "keep files" if entry.location else "",
            entry.id,
        )
    console.print(table)


@trash_app.command("expire")
def trash_expire(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """The scheduler's trash pass, now: purge or forget every entry whose retention ended."""
    catalog = catalog_at(data_dir, database_url)
    for done in catalog.trash.expire(actor=CLI):
        name = ".".join((*done.entry.namespace, done.entry.name))
        console.print(f"{done.outcome} {done.warehouse}/{name} ({done.files_deleted} files)")


@trash_app.command("retention")
def trash_retention(
    seconds: Annotated[int, typer.Argument(help="How long drops are kept; 0 turns it off.")],
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the warehouse's retention (its `icefloe.trash.retention-seconds` property)."""
    catalog = catalog_at(data_dir, database_url)
    try:
        catalog.trash.set_retention(warehouse, seconds, CLI)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Trash retention of warehouse [bold]{warehouse}[/bold]: {seconds} s")


def undrop(
    identifier: Annotated[str, typer.Argument(help="NAMESPACE.NAME as it was dropped.")],
    rename_to: Annotated[
        str | None, typer.Option("--as", help="Undrop as NAMESPACE.NAME instead.")
    ] = None,
    entry_id: Annotated[
        str | None, typer.Option("--id", help="One entry, when the trash holds several.")
    ] = None,
    kind: Annotated[
        TrashKind | None,
        typer.Option("--kind", help="table, view or function: only an entry of this kind."),
    ] = None,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put a dropped table, view or function back, with its exact metadata."""
    namespace, name = _identifier(identifier)
    destination = _identifier(rename_to) if rename_to else None
    catalog = catalog_at(data_dir, database_url)
    try:
        entry, (ns, restored) = catalog.trash.undrop(
            warehouse,
            namespace,
            name,
            CLI,
            entry_id=entry_id,
            rename_to=destination,
            kind=kind,
        )
    except CatalogError as error:
        raise fail(error.message) from error
    pointer = f" ({entry.metadata_location})" if entry.metadata_location else ""
    console.print(f"Undropped {entry.kind} [bold]{'.'.join((*ns, restored))}[/bold]{pointer}")


@namespace_app.command("drop")
def namespace_drop(
    namespace: Annotated[str, typer.Argument(help="The namespace, dotted.")],
    recursive: Annotated[
        bool, typer.Option("--recursive", help="With every namespace, table and view in it.")
    ] = False,
    purge: Annotated[
        bool, typer.Option("--purge", help="Purge the tables' files when they leave the trash.")
    ] = False,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Drop a namespace; with --recursive, everything in it goes to the trash in one
    transaction (nothing at all when anything in it is protected)."""
    levels = tuple(namespace.split("."))
    catalog = catalog_at(data_dir, database_url)
    try:
        if recursive:
            result = catalog.trash.drop_namespace(warehouse, levels, purge=purge, actor=CLI)
        else:
            catalog.namespaces.drop(warehouse, levels, None)
            result = {"namespaces": [list(levels)], "objects": []}
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(
        f"Dropped {len(result['namespaces'])} namespace(s) and {len(result['objects'])} "
        "table(s), view(s) and function(s)"
    )


def _protect(
    target: str, kind: Kind, protected: bool, warehouse: str, catalog: CatalogService
) -> None:
    if kind == "namespace":
        namespace, name = tuple(target.split(".")), None
    else:
        namespace, name = _identifier(target)
    try:
        catalog.protection.set(warehouse, kind, namespace, name, protected, CLI)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"{'Protected' if protected else 'Unprotected'} {kind} [bold]{target}[/bold]")


KindOption = Annotated[Kind, typer.Option("--kind", help="table, view or namespace.")]


def protect(
    target: Annotated[str, typer.Argument(help="NAMESPACE.NAME, or a namespace.")],
    kind: KindOption = "table",
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Mark a table, view or namespace protected: no drop, purge, rename or unregister."""
    _protect(target, kind, True, warehouse, catalog_at(data_dir, database_url))


def unprotect(
    target: Annotated[str, typer.Argument(help="NAMESPACE.NAME, or a namespace.")],
    kind: KindOption = "table",
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Clear the protection mark."""
    _protect(target, kind, False, warehouse, catalog_at(data_dir, database_url))
