"""Secrets of storage profiles at rest: sealed with a key kept outside the database, or named
from the environment.

A warehouse's storage profile may carry secrets: an S3 secret key, a session token, an R2 API
token (every field whose name says `secret`, `token` or `password`). The database never holds
them in clear:

- Sealed: `icefloe:sealed:v1:<key id>:<base64 of nonce and ciphertext>`, AES-256-GCM with the
  field's name as associated data. The key is `ICEFLOE_SECRETS_KEY` (32 bytes in base64) or,
  without it, `secrets.key` in the data directory, created with mode 0600 when a secret is
  first sealed. The key id (a hash of the key) lets a wrong key be named as such.
- Named: a value `env:NAME` is stored as written and read from the server's environment where
  the profile is used, so the secret itself never reaches the catalog.

AES-GCM (the `cryptography` package's `AESGCM`, already installed for PyJWT) rather than
Fernet: it is authenticated encryption with associated data, so a sealed value moved into
another field does not open, and a 256-bit key with random 96-bit nonces is ample for the few
secrets a catalog holds. Values are sealed when a warehouse is created, and legacy clear ones
on start; they are opened where the profile is used (`StorageResolver`), each once per process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from catalog.data_dir import read_or_create_key
from catalog.exceptions import SecretsUnavailable

SEALED = "icefloe:sealed:v1:"
ENV_REFERENCE = "env:"
KEY_BYTES = 32
_NONCE_BYTES = 12
_SECRET_WORDS = ("secret", "token", "password")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_HINT = "32 random bytes in base64, e.g. from `openssl rand -base64 32`"


def is_secret_field(name: str) -> bool:
    """Which storage-profile fields hold secrets: sealed at rest, never shown."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def public_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A profile as the admin API and the CLI may show it: without its secret fields."""
    return {k: v for k, v in profile.items() if not is_secret_field(k)}


def parse_key(text: str) -> bytes:
    """32 bytes in base64 (standard or URL-safe alphabet)."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretsUnavailable(f"The secrets key (ICEFLOE_SECRETS_KEY) is not {_KEY_HINT}")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"icefloe secrets key\0" + key).hexdigest()[:12]


def _new_key_text() -> bytes:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES))


class ProfileSecrets:
    """Seals and opens the secret fields of storage profiles with one key.

    The key is read when first needed: a catalog with no secrets never creates a key file.
    """

    def __init__(
        self,
        configured: str | None,
        key_file: Path,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._configured = parse_key(configured) if configured else None
        self._key_file = key_file
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._key: bytes | None = self._configured
        self._opened: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    # the key ----------------------------------------------------------------------------
    def _existing_key(self) -> bytes | None:
        if self._key is None and self._key_file.exists():
            with self._lock:
                if self._key is None:
                    self._key = self._parse_file(self._key_file.read_bytes())
        return self._key

    def _key_to_seal(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._parse_file(read_or_create_key(self._key_file, _new_key_text))
        return self._key

    def _parse_file(self, text: bytes) -> bytes:
        try:
            return parse_key(text.decode("ascii", "replace"))
        except SecretsUnavailable:
            raise SecretsUnavailable(
                f"The secrets key file {self._key_file} is not {_KEY_HINT}"
            ) from None

    # profiles ---------------------------------------------------------------------------
    def seal(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """The profile with every clear secret sealed; sealed values and `env:` references are
        kept as they are."""
        sealed = dict(profile)
        for field, value in profile.items():
            if _needs_sealing(field, value):
                sealed[field] = self._seal_value(field, value)
        return sealed

    def open(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """The profile with every secret usable: sealed values opened, `env:` references read.
        SecretsUnavailable (naming no secret) when one cannot be."""
        opened = dict(profile)
        for field, value in profile.items():
            if not (is_secret_field(field) and isinstance(value, str)):
                continue
            if value.startswith(SEALED):
                opened[field] = self._open_value(field, value)
            elif value.startswith(ENV_REFERENCE):
                opened[field] = self._from_environment(field, value)
        return opened

    def verify(self, profile: Mapping[str, Any]) -> None:
        """Every sealed value of the profile opens with this key (checked on start, so a wrong
        key stops the server instead of failing clients' requests)."""
        for field, value in profile.items():
            if is_secret_field(field) and isinstance(value, str) and value.startswith(SEALED):
                self._open_value(field, value)

    def _seal_value(self, field: str, value: str) -> str:
        key = self._key_to_seal()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, value.encode("utf-8"), field.encode("utf-8"))
        payload = base64.b64encode(nonce + ciphertext).decode("ascii")
        return f"{SEALED}{key_id(key)}:{payload}"

    def _open_value(self, field: str, value: str) -> str:
        cached = self._opened.get((field, value))
        if cached is not None:
            return cached
        sealed_with, _, payload = value.removeprefix(SEALED).partition(":")
        key = self._existing_key()
        if key is None:
            raise SecretsUnavailable(
                f"A secret of this warehouse's storage profile was sealed with secrets key "
                f"{sealed_with}, and this server has none: start it with that key "
                "(ICEFLOE_SECRETS_KEY, or the data directory's secrets.key)"
            )
        if sealed_with != key_id(key):
            raise SecretsUnavailable(
                f"A secret of this warehouse's storage profile was sealed with secrets key "
                f"{sealed_with}, but this server's key is {key_id(key)}: start it with the key "
                "the secrets were sealed with (ICEFLOE_SECRETS_KEY, or the data directory's "
                "secrets.key)"
            )
        try:
            raw = base64.b64decode(payload, validate=True)
            clear = (
                AESGCM(key)
                .decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], field.encode("utf-8"))
                .decode("utf-8")
            )
        except (binascii.Error, ValueError, InvalidTag):
            raise SecretsUnavailable(
                f"The sealed '{field}' of this warehouse's storage profile is damaged: it does "
                "not open with the key it names; set the secret again"
            ) from None
        if len(self._opened) > 1024:
            self._opened.clear()
        self._opened[(field, value)] = clear
        return clear

    def _from_environment(self, field: str, value: str) -> str:
        name = value.removeprefix(ENV_REFERENCE)
        found = self._environ.get(name) if _ENV_NAME.fullmatch(name) else None
        if not found:
            raise SecretsUnavailable(
                f"The storage profile's '{field}' names the environment variable {name!r}, "
                "which is not set on this server"
            )
        return found


def _needs_sealing(field: str, value: Any) -> bool:
    return (
        is_secret_field(field)
        and isinstance(value, str)
        and bool(value)
        and not value.startswith((SEALED, ENV_REFERENCE))
    )


def needs_sealing(profile: Mapping[str, Any]) -> bool:
    """Whether the profile holds a secret in clear (stored before secrets were sealed)."""
    return any(_needs_sealing(field, value) for field, value in profile.items())
