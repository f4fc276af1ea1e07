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
_AMBIGUOUS_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Controls, format characters (bidi overrides, zero-width characters, the BOM), and the line
and paragraph separators U+2028/U+2029."""
_WAREHOUSE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _check_name(name: str, what: str) -> str:
    if _plainly_valid(name):
        return name
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
    for char in name + decoded:
        if unicodedata.category(char) in ("Cc", "Cs", "Cn"):
            raise BadRequest(
                f"Invalid {what} {name!r}: must not contain control characters (U+{ord(char):04X})"
            )
    if name != name.strip():
        raise BadRequest(f"Invalid {what} {name!r}: must not start or end with whitespace")
    return name


def _plainly_valid(name: object) -> bool:
    """The common name, decided without the character-by-character checks below (which cost
    more than the rest of a cached loadTable): printable ASCII with nothing to %-decode, no
    '/', '?' or '#', not '.' or '..', no surrounding space. Every such name passes them all;
    any other name is given to them."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_LENGTH
        and name.isascii()
        and name.isprintable()
        and not _NOT_PLAIN.search(name)
        and name not in (".", "..")
        and name[0] != " "
        and name[-1] != " "
    )


_NOT_PLAIN = re.compile(r"[%/?#]")


def _check_unambiguous(name: str, what: str) -> str:
    """A new name must read as what it is: no character that is invisible or reorders what is
    shown (U+202E makes `gpj.exe` show as `exe.jpg`, U+200B and U+FEFF make `orders` and
    `or\u200bders` two tables that look one), no line or paragraph separator, and NFC.

    A name that is not NFC is refused rather than normalised: the name stored is then always
    the name the client sent, so a later lookup, a token's namespace scope and the table's
    location all use the same bytes, and `é` precomposed and decomposed cannot become two
    namespaces that look the same (nor one that a client's own, unnormalised name misses).
    """
    for char in unquote(name) + name:
        category = unicodedata.category(char)
        if category in _AMBIGUOUS_CATEGORIES:
            described = unicodedata.name(char, category)
            raise BadRequest(
                f"Invalid {what}: character U+{ord(char):04X} ({described}) is not allowed"
            )
    for form in (name, unquote(name)):
        if not unicodedata.is_normalized("NFC", form):
            raise BadRequest(
                f"Invalid {what} {name!r}: not in Unicode normalization form NFC; "
                f"send {unicodedata.normalize('NFC', form)!r}"
            )
    return name


def check_object_name(name: str, what: str = "table name") -> str:
    """A name that addresses a table or view (path parameters): lenient enough that objects
    named before the rules for new names tightened stay reachable, so they can be renamed."""
    return _check_name(name, what)


def check_new_name(name: str, what: str = "table name") -> str:
    """A name being given: create, register, rename's destination."""
    return _check_unambiguous(_check_name(name, what), what)


def check_new_namespace(levels: Sequence[str]) -> tuple[str, ...]:
    return tuple(_check_unambiguous(level, "namespace level") for level in check_namespace(levels))


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
