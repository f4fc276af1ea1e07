"""Opaque, stable page tokens: keyset pagination on names, so concurrent inserts never make a
listing repeat or skip an item that existed when the listing started."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from catalog.exceptions import BadRequest

_TOKEN_VERSION = "1:"


@dataclass(frozen=True)
class PageRequest:
    after: str | None
    limit: int | None

    @property
    def fetch(self) -> int | None:
        """Fetch one extra row to learn whether another page follows."""
        return None if self.limit is None else self.limit + 1


def encode_token(last_name: str) -> str:
    raw = (_TOKEN_VERSION + last_name).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise BadRequest("Invalid pageToken") from error
    # No name holds a NUL (PostgreSQL text cannot), so a token with one was not ours.
    if not raw.startswith(_TOKEN_VERSION) or "\x00" in raw:
        raise BadRequest("Invalid pageToken")
    return raw[len(_TOKEN_VERSION) :]


def page_request(
    page_token: str | None, page_size: int | None, *, default_size: int, max_size: int
) -> PageRequest:
    """Without a pageToken the spec asks for everything in one response."""
    if page_size is not None and not 1 <= page_size <= max_size:
        raise BadRequest(f"Invalid pageSize {page_size}: must be between 1 and {max_size}")
    if page_token is None and page_size is None:
        return PageRequest(after=None, limit=None)
    after = decode_token(page_token) if page_token else None
    return PageRequest(after=after, limit=page_size or default_size)


def next_token(names: list[str], request: PageRequest) -> tuple[list[str], str | None]:
    if request.limit is None or len(names) <= request.limit:
        return names, None
    page = names[: request.limit]
    return page, encode_token(page[-1])
