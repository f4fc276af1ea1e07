"""Plan ids and plan tasks as signed, self-contained tokens.

A token carries everything needed to plan its part again (table uuid, snapshot(s), filter,
options, a range of manifests) and an expiry, signed with HMAC-SHA256 under a key derived from
the catalog's token key, which every worker of a deployment shares. So any worker answers any
token, no plan state is held between requests (nothing to expire or leak when a client walks
away), and a client cannot widen its scan by editing a token: a changed byte fails the check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

import orjson

_PURPOSE = b"icefloe scan planning tokens v1"


class InvalidToken(Exception):
    """Unsigned, altered, expired or malformed: the caller answers 404 (no such plan/task)."""


class TokenSigner:
    def __init__(self, root_key: bytes, lifetime_seconds: int) -> None:
        self._key = hmac.new(root_key, _PURPOSE, hashlib.sha256).digest()
        self.lifetime_seconds = lifetime_seconds

    def sign(self, payload: dict[str, Any], expires_at: int | None = None) -> str:
        body = dict(payload)
        body["exp"] = expires_at if expires_at is not None else self.expiry()
        raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()
        return _b64(raw) + "." + _b64(mac)

    def expiry(self) -> int:
        return int(time.time()) + self.lifetime_seconds

    def verify(self, token: str) -> dict[str, Any]:
        try:
            text, _, mac_text = token.partition(".")
            raw = _unb64(text)
            mac = _unb64(mac_text)
        except (ValueError, binascii.Error) as error:
            raise InvalidToken("malformed") from error
        expected = hmac.new(self._key, raw, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise InvalidToken("bad signature")
        payload = orjson.loads(raw)
        if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time():
            raise InvalidToken("expired")
        return payload


def digest(token: str) -> str:
    """A short, stable name for a token (cancellation and logs never hold the whole token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
