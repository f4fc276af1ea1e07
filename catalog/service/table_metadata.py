"""Applying requirements and updates to table metadata, reusing pyiceberg's rules.

pyiceberg's `update_table_metadata` and requirement classes decide what a change means; this
module adds what a server needs around them: error mapping, the spec's extra updates, and
keeping metadata fields pyiceberg does not model (a catalog must not silently drop them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from pydantic import ValidationError
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata, TableMetadataUtil, TableMetadataV1
from pyiceberg.table.update import (
    AssertCreate,
    AssignUUIDUpdate,
    TableRequirement,
    update_table_metadata,
)
from pyiceberg.typedef import IcebergBaseModel

from catalog.exceptions import CommitFailed, ValidationFailed
from catalog.service import document_updates
from catalog.service.document_updates import DocumentCommit
from catalog.service.extra_updates import ExtraUpdate, apply_extra_updates


def metadata_document(metadata: TableMetadata) -> dict[str, Any]:
    """The JSON form of any format version.

    pyiceberg refuses to serialize v3 because its data writers do not support v3 yet; the
    metadata model itself is complete, and a catalog only stores and serves it. Engines that
    write v3 (Spark, Java) need `next-row-id`, which starts at 0.
    """
    document: dict[str, Any] = orjson.loads(IcebergBaseModel.model_dump_json(metadata))
    if document.get("format-version", 1) >= 3:
        document.setdefault("next-row-id", 0)
    return document


def metadata_to_json(metadata: TableMetadata) -> str:
    return orjson.dumps(metadata_document(metadata)).decode("utf-8")


def parse_table_metadata(text: str) -> TableMetadata:
    try:
        return TableMetadataUtil.parse_raw(text)
    except (ValidationError, IcebergValidationError, ValueError) as error:
        raise ValidationFailed(f"Invalid table metadata: {error}") from error


def parse_stored_metadata(text: str) -> TableMetadata:
    """Metadata the catalog stored itself: if it no longer parses, that is the server's fault
    (a 500 for the operator to look into), not a bad request of the caller's."""
    try:
        return parse_table_metadata(text)
    except ValidationFailed as error:
        raise RuntimeError(f"Stored table metadata does not parse: {error.message}") from error


def is_create(requirements: Sequence[TableRequirement]) -> bool:
    return any(isinstance(r, AssertCreate) for r in requirements)


def check_requirements(
    requirements: Sequence[TableRequirement], base: TableMetadata | None
) -> None:
    for requirement in requirements:
        try:
            requirement.validate(base)
        except CommitFailedException as error:
            raise CommitFailed(str(error)) from error


@contextmanager
def _refusals() -> Iterator[None]:
    """What applying updates raises, as the catalog's errors: one mapping for both paths."""
    try:
        yield
    except CommitFailedException as error:
        raise CommitFailed(str(error)) from error
    except (
        ValueError,
        ValidationError,
        IcebergValidationError,
        NotImplementedError,
        KeyError,
        IndexError,
    ) as error:
        raise ValidationFailed(f"Invalid table update: {error}") from error
    except StopIteration as error:
        # pyiceberg looks up the current schema, spec and sort order with next(); a create
        # whose updates do not add them leaves nothing to find.
        raise ValidationFailed(
            "Invalid table update: the current schema, partition spec or sort order is missing"
        ) from error


def apply_document_commit(
    base: dict[str, Any],
    requirements: Sequence[TableRequirement],
    updates: Sequence[Any],
    base_location: str,
) -> DocumentCommit | None:
    """The commit applied to the stored document when every update is one that
    `document_updates` applies (the same outcome as `check_requirements` and then
    `apply_table_updates`), else None: the caller takes the pyiceberg path."""
    if not document_updates.applies(base, updates):
        return None
    try:
        view = document_updates.RequirementView(base)
    except (KeyError, TypeError, ValueError) as error:
        raise RuntimeError(f"Stored table metadata does not parse: {error!r}") from error
    try:
        document_updates.check_document_requirements(requirements, view)
    except CommitFailedException as error:
        raise CommitFailed(str(error)) from error
    with _refusals():
        return document_updates.apply(base, updates, base_location)


def _empty_metadata() -> TableMetadata:
    """The starting point of a staged create: format v1, upgraded by the client's updates."""
    fields: dict[str, Any] = {"last_column_id": -1, "schema": Schema()}
    return TableMetadataV1.model_construct(**fields)


def _known_fields(metadata: TableMetadata) -> set[str]:
    return {field.alias or name for name, field in type(metadata).model_fields.items()}


def apply_table_updates(
    base: TableMetadata | None,
    base_json: str | None,
    updates: Sequence[Any],
    base_location: str | None,
) -> tuple[TableMetadata, dict[str, Any], bool]:
    """The new metadata, its JSON document, and whether anything changed at all.

    `base` None builds a table from nothing (a staged create).
    """
    if base is not None:
        for update in updates:
            if isinstance(update, AssignUUIDUpdate) and update.uuid != base.table_uuid:
                raise ValidationFailed("Cannot reassign the UUID of an existing table")
    extras: list[ExtraUpdate] = [u for u in updates if isinstance(u, ExtraUpdate)]
    regular = tuple(u for u in updates if not isinstance(u, ExtraUpdate))
    with _refusals():
        metadata = update_table_metadata(
            base_metadata=base or _empty_metadata(),
            updates=regular,
            enforce_validation=base is None,
            metadata_location=base_location,
        )
        document = metadata_document(metadata)
    if base_json is not None:
        known = _known_fields(metadata)
        previous = orjson.loads(base_json)
        for key, value in previous.items():
            if key not in known and key not in document:
                document[key] = value
    extras_changed = apply_extra_updates(document, extras)
    changed = base is None or extras_changed or metadata != base
    return metadata, document, changed
