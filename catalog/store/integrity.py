"""Which constraint a failed write broke, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.exc import IntegrityError


def violation(error: IntegrityError) -> Literal["unique", "foreign_key", "other"]:
    code = getattr(error.orig, "sqlstate", None)
    text = str(error.orig).upper()
    if code == "23505" or "UNIQUE" in text:
        return "unique"
    if code == "23503" or "FOREIGN KEY" in text:
        return "foreign_key"
    return "other"
