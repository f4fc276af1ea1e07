"""Pure rules about object locations, shared by the service and the store."""

from __future__ import annotations


def is_within(location: str, root: str) -> bool:
    """True when `location` is `root` or below it (a sibling `root10` is not below `root1`)."""
    location, root = location.rstrip("/"), root.rstrip("/")
    return location == root or location.startswith(root + "/")
