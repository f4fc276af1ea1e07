"""Applying requirements and updates to table metadata, reusing pyiceberg's rules.

pyiceberg's `update_table_metadata` and requirement classes decide what a change means; this
module adds what a server needs around them: error mapping, the spec's extra updates, and
keeping metadata fields pyiceberg does not model (a catalog must not silently drop them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import ValidationError
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata, TableMetadataUtil, TableMetadataV1
from pyiceberg.table.update import AssertCreate, TableRequirement, update_table_metadata

from catalog.exceptions import CommitFailed, ValidationFailed
from catalog.service.extra_updates import ExtraUpdate, apply_extra_updates


def parse_table_metadata(text: str) -> TableMetadata:
    try:
        return TableMetadataUtil.parse_raw(text)
    except (ValidationError, ValueError) as error:
        raise ValidationFailed(f"Invalid table metadata: {error}") from error


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
) -> tuple[TableMetadata, str]:
    """Return the new metadata and its JSON text; `base` None builds a table from nothing."""
    extras: list[ExtraUpdate] = [u for u in updates if isinstance(u, ExtraUpdate)]
    regular = tuple(u for u in updates if not isinstance(u, ExtraUpdate))
    try:
        metadata = update_table_metadata(
            base_metadata=base or _empty_metadata(),
            updates=regular,
            enforce_validation=base is None,
            metadata_location=base_location,
        )
        document: dict[str, Any] = orjson.loads(metadata.model_dump_json())
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
    if base_json is not None:
        known = _known_fields(metadata)
        previous = orjson.loads(base_json)
        for key, value in previous.items():
            if key not in known and key not in document:
                document[key] = value
    apply_extra_updates(document, extras)
    return metadata, orjson.dumps(document).decode("utf-8")
