"""Table updates in the spec that pyiceberg does not model yet (format v3 encryption keys).

pyiceberg's `TableMetadata` drops fields it does not know, so these work on the JSON form:
`apply_extra_updates` runs after pyiceberg's own updates, on the serialized metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field
from pyiceberg.typedef import IcebergBaseModel

from catalog.exceptions import ValidationFailed

ENCRYPTION_KEYS = "encryption-keys"


class EncryptedKey(IcebergBaseModel):
    key_id: str = Field(alias="key-id")
    encrypted_key_metadata: str = Field(alias="encrypted-key-metadata")
    encrypted_by_id: str | None = Field(default=None, alias="encrypted-by-id")
    properties: dict[str, str] | None = None


class AddEncryptionKeyUpdate(IcebergBaseModel):
    action: Literal["add-encryption-key"] = Field(default="add-encryption-key")
    encryption_key: EncryptedKey = Field(alias="encryption-key")


class RemoveEncryptionKeyUpdate(IcebergBaseModel):
    action: Literal["remove-encryption-key"] = Field(default="remove-encryption-key")
    key_id: str = Field(alias="key-id")


ExtraUpdate = AddEncryptionKeyUpdate | RemoveEncryptionKeyUpdate


def apply_extra_updates(metadata: dict[str, Any], updates: Iterable[ExtraUpdate]) -> bool:
    """Apply in place; return whether anything changed."""
    changed = False
    for update in updates:
        keys: list[dict[str, Any]] = list(metadata.get(ENCRYPTION_KEYS) or [])
        if isinstance(update, AddEncryptionKeyUpdate):
            if metadata.get("format-version", 1) < 3:
                raise ValidationFailed("Encryption keys need table format version 3 or later")
            key = update.encryption_key.model_dump(by_alias=True, exclude_none=True)
            keys = [k for k in keys if k.get("key-id") != key["key-id"]] + [key]
        else:
            remaining = [k for k in keys if k.get("key-id") != update.key_id]
            if len(remaining) == len(keys):
                continue
            keys = remaining
        metadata[ENCRYPTION_KEYS] = keys
        changed = True
    return changed
