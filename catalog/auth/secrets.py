"""API token secrets: generated, formatted, hashed, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "icefloe"
_ID_BYTES = 8
_SECRET_BYTES = 32


@dataclass(frozen=True)
class TokenParts:
    token_id: str
    secret: str

    @property
    def bearer(self) -> str:
        return f"{PREFIX}_{self.token_id}_{self.secret}"


def new_token() -> TokenParts:
    return TokenParts(secrets.token_hex(_ID_BYTES), secrets.token_urlsafe(_SECRET_BYTES))


def parse_bearer(value: str) -> TokenParts | None:
    """`icefloe_<id>_<secret>`; anything else is not one of our API tokens."""
    head, sep, rest = value.partition("_")
    if head != PREFIX or not sep:
        return None
    token_id, sep, secret = rest.partition("_")
    if not sep or len(token_id) != 2 * _ID_BYTES or not secret:
        return None
    return TokenParts(token_id, secret)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough: the secret is 256 random bits, not a password to stretch."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
