"""Where tables and views live, and which locations a request may name."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from pyiceberg.table.locations import load_location_provider

from catalog.exceptions import BadRequest
from catalog.service.ports import CatalogTransaction
from storage.locations import is_within

SUPPORTED_SCHEMES = ("file", "s3", "s3a", "s3n")
_ENCODED = re.compile(r"%[0-9a-fA-F]{2}")


def normalize_location(location: str, what: str = "location") -> str:
    """A location without a trailing slash, refused when it could mean more than it says."""
    if not location or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in location):
        raise BadRequest(f"Invalid {what}: {location!r}")
    parts = urlsplit(location)
    if parts.scheme not in SUPPORTED_SCHEMES:
        raise BadRequest(f"Invalid {what} {location!r}: scheme must be one of {SUPPORTED_SCHEMES}")
    if parts.query or parts.fragment or "\\" in location:
        raise BadRequest(f"Invalid {what} {location!r}: no query, fragment or backslash allowed")
    if _ENCODED.search(location):
        raise BadRequest(f"Invalid {what} {location!r}: percent-encoded characters are refused")
    path = parts.path.rstrip("/")
    if "//" in path:
        raise BadRequest(f"Invalid {what} {location!r}: empty path segment")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise BadRequest(f"Invalid {what} {location!r}: relative path segments are refused")
    if parts.scheme != "file" and not parts.netloc:
        raise BadRequest(f"Invalid {what} {location!r}: missing bucket")
    return location.rstrip("/")


def overlaps(a: str, b: str) -> bool:
    return is_within(a, b) or is_within(b, a)


def require_within(location: str, root: str, what: str = "location") -> str:
    normalized = normalize_location(location, what)
    if not is_within(normalized, root):
        raise BadRequest(f"Invalid {what} {location!r}: must lie inside the warehouse {root}")
    return normalized


def namespace_location(
    warehouse_location: str, levels: Sequence[str], location_property: str | None
) -> str:
    """A namespace's folder: its `location` property, or `<warehouse>/<levels…>`. The property
    is a client's wish like any location in a request: it must lie inside the warehouse."""
    if location_property:
        return require_within(location_property, warehouse_location, "namespace location")
    return "/".join([warehouse_location.rstrip("/"), *levels])


def default_object_location(
    warehouse_location: str,
    namespace: Sequence[str],
    namespace_location_property: str | None,
    name: str,
    object_uuid: uuid.UUID,
) -> str:
    """`<namespace location>/<name>-<uuid>`: a dropped and re-created table never shares
    files with its predecessor."""
    base = namespace_location(warehouse_location, namespace, namespace_location_property)
    return f"{base}/{name}-{object_uuid.hex}"


def table_metadata_file(location: str, properties: dict[str, str], version: int) -> str:
    """Named by pyiceberg's location provider, so `write.metadata.path` is honoured."""
    return load_location_provider(location, properties).new_table_metadata_file_location(version)


def view_metadata_file(location: str, version: int) -> str:
    return f"{location.rstrip('/')}/metadata/{version:05d}-{uuid.uuid4()}.metadata.json"


def metadata_version(metadata_location: str) -> int:
    name = metadata_location.rsplit("/", 1)[-1]
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


PATH_PROPERTIES = ("write.data.path", "write.metadata.path", "write.object-storage.path")


def check_table_paths(location: str, properties: Mapping[str, str], warehouse: str) -> None:
    """A table's location lies in its warehouse, and the paths its writers use lie in its
    location: vended credentials cover exactly the location, nothing beside it."""
    require_within(location, warehouse, "table location")
    for key in PATH_PROPERTIES:
        value = properties.get(key)
        if value and not is_within(normalize_location(value, key), location):
            raise BadRequest(f"Invalid {key} {value!r}: must lie inside the table location")


def check_no_overlap(
    tx: CatalogTransaction,
    warehouse_id: str,
    location: str,
    own_id: str | None,
    *,
    trash: bool = True,
) -> None:
    """No table or view may live at, above or below another one's location, nor of a table in
    the trash whose purge is still to come (it would delete this one's files). The other
    one's location is not named: the caller may not be allowed to read it. `trash=False`
    when the location is the object's own already (a commit that keeps it): checked then."""
    for other_id, _ in tx.objects_overlapping(warehouse_id, location):
        if other_id != own_id:
            raise BadRequest(f"Location {location} overlaps the location of another table or view")
    if trash and any(i != own_id for i in tx.trash_to_purge_overlapping(warehouse_id, location)):
        raise BadRequest(
            f"Location {location} overlaps the location of a dropped table whose files are to "
            "be purged when its time in the trash ends"
        )
