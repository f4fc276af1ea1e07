"""Self-contained tokens sealed with HMAC-SHA256: what a server hands out instead of a row.

Scan plans and their tasks, and upload slots, are such tokens: any process that shares the
server's key opens them, and a changed byte breaks the seal. Each use derives its own key from
the server's by a purpose label, so a token sealed for one use never opens for another. Only
the one spelling this module writes opens (unpadded base64url, canonical bits): callers name a
token by a digest of its text (a cancelled plan), so two spellings of one token must not exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import orjson

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class InvalidSeal(Exception):
    """Malformed, altered, or sealed by another key or for another purpose."""


class Sealer:
    def __init__(self, server_key: bytes, purpose: bytes) -> None:
        self._key = hmac.new(server_key, purpose, hashlib.sha256).digest()

    def seal(self, payload: dict[str, Any]) -> str:
        body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def open(self, token: str) -> dict[str, Any]:
        body_text, _, mac_text = token.partition(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except ValueError as error:
            raise InvalidSeal("malformed") from error
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidSeal("bad seal")
        payload = orjson.loads(body)
        if not isinstance(payload, dict):
            raise InvalidSeal("malformed")
        return payload

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """The bytes of the one spelling `_b64` writes; ValueError for any other text (the
    decoder alone skips foreign characters and ignores a last character's unused bits)."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not the canonical spelling")
    return data
