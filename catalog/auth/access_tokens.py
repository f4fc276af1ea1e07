"""Short-lived access tokens issued by our OAuth2 endpoint: HS256 JWTs (PyJWT).

The signing key is generated on first start into the data directory (mode 0600) or set
by configuration, so several catalog processes sharing a data directory or a configured key
accept each other's tokens. A token names the API token it was obtained with (`sub`) and that
token's generation (`gen`, the number of secrets it has had); the token row is looked up on every
request (through a cache of at most 1 s), so revoking or rotating it ends its access tokens.
A token refreshed by exchange keeps its subject's generation and never its subject's expiry
(`not_after`), so no chain of exchanges outlives the token it started from.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from catalog.data_dir import JWT_SIGNING_KEY_FILE, read_or_create_key

ISSUER = "icefloe"
ALGORITHM = "HS256"


def load_or_create_signing_key(data_dir: Path, configured: str | None) -> bytes:
    if configured:
        return configured.encode("utf-8")
    return read_or_create_key(
        data_dir / JWT_SIGNING_KEY_FILE, lambda: secrets.token_urlsafe(48).encode("ascii")
    )


@dataclass(frozen=True)
class AccessClaims:
    token_id: str
    scope: str
    expires_at: int
    generation: int | None  # None: minted before tokens had generations (refused)


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int


class AccessTokenIssuer:
    def __init__(self, key: bytes, lifetime_seconds: int) -> None:
        self._key = key
        self.lifetime_seconds = lifetime_seconds

    def issue(
        self, token_id: str, scope: str, generation: int, not_after: int | None = None
    ) -> IssuedAccessToken:
        """A token for `generation` of API token `token_id`, expiring no later than `not_after`."""
        now = int(time.time())
        expires_at = now + self.lifetime_seconds
        if not_after is not None:
            expires_at = min(expires_at, not_after)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": token_id,
            "gen": generation,
            "scope": scope,
            "iat": now,
            "exp": expires_at,
            "jti": uuid.uuid4().hex,
        }
        return IssuedAccessToken(
            jwt.encode(claims, self._key, algorithm=ALGORITHM), expires_at - now
        )

    def verify(self, token: str) -> AccessClaims:
        """Raises jwt.InvalidTokenError for anything but a valid, current token of ours."""
        claims = jwt.decode(
            token,
            self._key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        generation = claims.get("gen")
        if generation is not None and (type(generation) is not int or generation < 1):
            raise jwt.InvalidTokenError("The gen claim is not a generation")
        return AccessClaims(
            str(claims["sub"]), str(claims.get("scope", "")), int(claims["exp"]), generation
        )

    @staticmethod
    def is_ours(token: str) -> bool:
        try:
            return jwt.get_unverified_header(token).get("alg") == ALGORITHM and (
                jwt.decode(token, options={"verify_signature": False}).get("iss") == ISSUER
            )
        except jwt.InvalidTokenError:
            return False
