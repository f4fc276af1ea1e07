"""Plan ids and plan tasks as signed, self-contained tokens.

A token carries everything needed to plan its part again (table uuid, snapshot(s), filter,
options, a range of manifests) and an expiry, signed with HMAC-SHA256 under a key derived from
the catalog's token key, which every worker of a deployment shares. So any worker answers any
token, no plan state is held between requests (nothing to expire or leak when a client walks
away), and a client cannot widen its scan by editing a token: a changed byte fails the check.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from catalog.auth.sealed import InvalidSeal, Sealer

_PURPOSE = b"icefloe scan planning tokens v1"


class InvalidToken(Exception):
    """Unsigned, altered, expired or malformed: the caller answers 404 (no such plan/task)."""


class TokenSigner:
    def __init__(self, root_key: bytes, lifetime_seconds: int) -> None:
        self._sealer = Sealer(root_key, _PURPOSE)
        self.lifetime_seconds = lifetime_seconds

    def sign(self, payload: dict[str, Any], expires_at: int | None = None) -> str:
        return self._sealer.seal(
            {**payload, "exp": expires_at if expires_at is not None else self.expiry()}
        )

    def expiry(self) -> int:
        return int(time.time()) + self.lifetime_seconds

    def verify(self, token: str) -> dict[str, Any]:
        try:
            payload = self._sealer.open(token)
        except InvalidSeal as error:
            raise InvalidToken(str(error)) from error
        if int(payload.get("exp", 0)) < time.time():
            raise InvalidToken("expired")
        return payload


def digest(token: str) -> str:
    """A short, stable name for a token (cancellation and logs never hold the whole token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]
