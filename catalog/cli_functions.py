"""`icefloe function create|replace|drop|list|show`: catalog functions, from a JSON file.

Like the other admin commands, these open the catalog's database directly (`--data-dir`,
`--database-url`) and act as a catalog admin; what they change is in the audit log with the
principal `icefloe-cli`. The file holds what the admin API's create takes (`POST …/functions`): the
definitions, with `doc`, `properties` and `secure`; the name comes from the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from catalog.cli_options import DatabaseUrl, DataDir, Warehouse, catalog_at, fail
from catalog.exceptions import CatalogError
from catalog.service.audit import CLI, AuditEntry
from catalog.service.function_metadata import (
    CreateFunctionRequest,
    ReplaceFunctionRequest,
    type_string,
)
from catalog.service.identifiers import dotted

console = Console()
function_app = typer.Typer(
    help="Catalog functions (the spec's listFunctions and loadFunction).", no_args_is_help=True
)

Identifier = Annotated[str, typer.Argument(help="NAMESPACE.NAME, e.g. analytics.add_one")]
DefinitionFile = Annotated[
    Path,
    typer.Argument(
        help='JSON: {"definitions": [...], "doc", "properties", "secure"}.',
        exists=True,
        dir_okay=False,
    ),
]


def _identifier(text: str) -> tuple[tuple[str, ...], str]:
    parts = text.split(".")
    if len(parts) < 2 or not all(parts):
        raise typer.BadParameter(f"{text!r}: use NAMESPACE.NAME, e.g. analytics.add_one")
    return tuple(parts[:-1]), parts[-1]


def _document(path: Path) -> dict[str, Any]:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise fail(f"{path}: {error}") from error
    if not isinstance(document, dict):
        raise fail(f"{path}: a JSON object is expected")
    return document


def _audit(operation: str, warehouse: str, namespace: tuple[str, ...], name: str) -> AuditEntry:
    return AuditEntry(
        CLI.principal, operation, f"{warehouse}/{dotted((*namespace, name))}", CLI.request_id, 200
    )


def _invalid(error: ValidationError) -> typer.Exit:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
    )
    return fail(f"invalid definition: {problems}")


@function_app.command("create")
def function_create(
    identifier: Identifier,
    definition: DefinitionFile,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a function from its definitions."""
    namespace, name = _identifier(identifier)
    try:
        request = CreateFunctionRequest.model_validate({**_document(definition), "name": name})
    except ValidationError as error:
        raise _invalid(error) from error
    catalog = catalog_at(data_dir, database_url)
    try:
        catalog.functions.create(
            warehouse,
            namespace,
            request,
            who=None,
            audit=_audit("createFunction", warehouse, namespace, name),
        )
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Created function [bold]{identifier}[/bold]")


@function_app.command("replace")
def function_replace(
    identifier: Identifier,
    definition: DefinitionFile,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Replace a function's definitions; a changed body becomes a new version."""
    namespace, name = _identifier(identifier)
    try:
        request = ReplaceFunctionRequest.model_validate(_document(definition))
    except ValidationError as error:
        raise _invalid(error) from error
    catalog = catalog_at(data_dir, database_url)
    try:
        catalog.functions.replace(
            warehouse,
            namespace,
            name,
            request,
            who=None,
            audit=_audit("replaceFunction", warehouse, namespace, name),
        )
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Replaced function [bold]{identifier}[/bold]")


@function_app.command("drop")
def function_drop(
    identifier: Identifier,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Drop a function: to the warehouse's trash, like a table (`icefloe undrop --kind
    function` brings it back)."""
    namespace, name = _identifier(identifier)
    catalog = catalog_at(data_dir, database_url)
    try:
        catalog.functions.drop(
            warehouse, namespace, name, audit=_audit("dropFunction", warehouse, namespace, name)
        )
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"Dropped function [bold]{identifier}[/bold]")


@function_app.command("list")
def function_list(
    namespace: Annotated[str, typer.Argument(help="The namespace (dotted).")],
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The functions of a namespace."""
    catalog = catalog_at(data_dir, database_url)
    try:
        body = catalog.functions.list(warehouse, tuple(namespace.split(".")), None, None)
    except CatalogError as error:
        raise fail(error.message) from error
    for levels in orjson.loads(body)["identifiers"]:
        console.print(".".join(levels))


@function_app.command("show")
def function_show(
    identifier: Identifier,
    warehouse: Warehouse = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A function's definitions, their current versions and SQL bodies."""
    namespace, name = _identifier(identifier)
    catalog = catalog_at(data_dir, database_url)
    try:
        metadata = catalog.functions.metadata(warehouse, namespace, name)
    except CatalogError as error:
        raise fail(error.message) from error
    console.print(f"[bold]{identifier}[/bold]  uuid {metadata.function_uuid}")
    if metadata.doc:
        console.print(metadata.doc)
    table = Table("definition", "type", "returns", "version", "versions", "dialect", "sql")
    for definition in metadata.definitions:
        current = definition.current
        for representation in current.representations:
            table.add_row(
                f"({definition.definition_id})",
                definition.function_type,
                type_string(definition.return_type),
                str(current.version_id),
                str(len(definition.versions)),
                representation.dialect,
                representation.sql,
            )
    console.print(table)
