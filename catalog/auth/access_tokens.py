"""Short-lived access tokens issued by our OAuth2 endpoint: HS256 JWTs (PyJWT).

The signing key is generated on first start into the data directory (mode 0600) or set
by configuration, so several catalog processes sharing a data directory or a configured key
accept each other's tokens. A token names the API token it was obtained with; that token is
looked up on every request, so revoking it ends its access tokens at once.
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


class AccessTokenIssuer:
    def __init__(self, key: bytes, lifetime_seconds: int) -> None:
        self._key = key
        self.lifetime_seconds = lifetime_seconds

    def issue(self, token_id: str, scope: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": token_id,
            "scope": scope,
            "iat": now,
            "exp": now + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        """Raises jwt.InvalidTokenError for anything but a valid, current token of ours."""
        claims = jwt.decode(
            token,
            self._key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return AccessClaims(str(claims["sub"]), str(claims.get("scope", "")), int(claims["exp"]))

    @staticmethod
    def is_ours(token: str) -> bool:
        try:
            return jwt.get_unverified_header(token).get("alg") == ALGORITHM and (
                jwt.decode(token, options={"verify_signature": False}).get("iss") == ISSUER
            )
        except jwt.InvalidTokenError:
            return False
