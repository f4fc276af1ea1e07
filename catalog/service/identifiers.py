"""What a valid namespace, table or view name is, checked in one place."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import unquote

from catalog.exceptions import BadRequest

MAX_NAME_LENGTH = 255
MAX_NAMESPACE_DEPTH = 16
NAMESPACE_SEPARATOR = "\x1f"
_WAREHOUSE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise BadRequest(f"Invalid {what}: must be a non-empty string")
    if len(name.encode("utf-8")) > MAX_NAME_LENGTH:
        raise BadRequest(f"Invalid {what}: longer than {MAX_NAME_LENGTH} bytes")
    # Names become path segments of table and view locations: URIs, which object stores
    # percent-decode. Neither form may leave its segment or the warehouse.
    decoded = unquote(name)
    if any(ch in name for ch in "/?#") or "/" in decoded:
        raise BadRequest(f"Invalid {what} {name!r}: must not contain '/', '?' or '#'")
    if decoded in (".", ".."):
        raise BadRequest(f"Invalid {what} {name!r}: '.' and '..' are not names")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Cn") for ch in name + decoded):
        raise BadRequest(f"Invalid {what} {name!r}: must not contain control characters")
    if name != name.strip():
        raise BadRequest(f"Invalid {what} {name!r}: must not start or end with whitespace")
    return name


def check_object_name(name: str, what: str = "table name") -> str:
    return _check_name(name, what)


def check_namespace(levels: Sequence[str], *, allow_empty: bool = False) -> tuple[str, ...]:
    if not levels and not allow_empty:
        raise BadRequest("Invalid namespace: must have at least one level")
    if len(levels) > MAX_NAMESPACE_DEPTH:
        raise BadRequest(f"Invalid namespace: deeper than {MAX_NAMESPACE_DEPTH} levels")
    return tuple(_check_name(level, "namespace level") for level in levels)


def parse_namespace_path(encoded: str) -> tuple[str, ...]:
    """The `{namespace}` path parameter, already URL-decoded: levels joined by 0x1F."""
    return check_namespace(encoded.split(NAMESPACE_SEPARATOR))


def check_warehouse_name(name: str) -> str:
    if not _WAREHOUSE_NAME.match(name):
        raise BadRequest(
            f"Invalid warehouse name {name!r}: use 1-63 lowercase letters, digits, '-' or '_'"
        )
    return name


def dotted(levels: Sequence[str]) -> str:
    return ".".join(levels)
