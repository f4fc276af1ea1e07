"""Root keys and stateless temporary credentials, as R2's temp-access-credentials API issues.

A temporary credential carries its own authority: the session token is an
HMAC-signed, versioned encoding of {access key id, bucket, prefixes, permission,
expiry}, and the temporary secret is HMAC(root secret, access key id).  Any process
that knows the root secret can therefore verify a credential and recompute its
secret, across restarts and replicas, without a shared credential table.  Rotating the
root secret revokes every temporary credential at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from storage.s3 import errors
from storage.s3.names import has_dot_segments, is_valid_bucket_name

Permission = Literal["object-read-only", "object-read-write"]
PERMISSIONS: tuple[Permission, ...] = ("object-read-only", "object-read-write")

MAX_TTL = timedelta(days=7)
_TOKEN_VERSION = "v1"
_PERMISSION_CODES: dict[Permission, str] = {"object-read-only": "ro", "object-read-write": "rw"}
_CODE_PERMISSIONS: dict[str, Permission] = {v: k for k, v in _PERMISSION_CODES.items()}


@dataclass(frozen=True)
class TemporaryCredentials:
    """What the catalog hands to a client (Iceberg's vended `s3.*` properties)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


@dataclass(frozen=True)
class Grant:
    """What a credential is confined to: one bucket, key prefixes in it, a permission."""

    bucket: str
    prefixes: tuple[str, ...]
    permission: Permission

    @property
    def can_write(self) -> bool:
        return self.permission == "object-read-write"

    def covers_key(self, key: str) -> bool:
        """Whether a key lies under one of the granted prefixes.

        A prefix `p/` grants keys starting with `p/`; a prefix `p` without a trailing slash
        is read as the directory `p/` (plus the key `p` itself), so `tbl1` never grants
        `tbl10/...`.  The empty prefix grants the whole bucket.  Keys with `.`/`..`
        segments are never covered: a consumer that normalises paths would resolve them
        outside the grant.
        """
        if has_dot_segments(key):
            return False
        return any(_under(key, prefix) for prefix in self.prefixes)

    def covers_listing(self, prefix: str) -> bool:
        """Whether listing with `prefix=` can only reveal keys this grant covers."""
        if has_dot_segments(prefix):
            return False
        for granted in self.prefixes:
            if granted == "":
                return True
            directory = granted if granted.endswith("/") else granted + "/"
            if prefix.startswith(directory):
                return True
        return False


@dataclass(frozen=True)
class SessionGrant(Grant):
    """The scope a verified session token grants."""

    access_key_id: str
    expiration: datetime


def _under(key: str, prefix: str) -> bool:
    if prefix == "":
        return True
    if prefix.endswith("/"):
        return key.startswith(prefix)
    return key == prefix or key.startswith(prefix + "/")


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _normalize_prefix(prefix: str) -> str:
    if has_dot_segments(prefix.rstrip("/")):
        raise ValueError(f"prefix {prefix!r} contains '.' or '..' segments")
    if prefix.startswith("/"):
        raise ValueError(f"prefix {prefix!r} must not start with '/'")
    return prefix


class CredentialAuthority:
    """Issues temporary credentials and verifies them, from the root key pair alone."""

    def __init__(
        self,
        root_access_key_id: str,
        root_secret_access_key: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not root_access_key_id or not root_secret_access_key:
            raise ValueError("root credentials must not be empty")
        self.root_access_key_id = root_access_key_id
        self._root_secret = root_secret_access_key.encode("utf-8")
        self._token_key = hmac.new(
            self._root_secret, b"icefloe/s3/session-token", "sha256"
        ).digest()
        self._secret_key = hmac.new(self._root_secret, b"icefloe/s3/temp-secret", "sha256").digest()
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def root_secret_access_key(self) -> str:
        return self._root_secret.decode("utf-8")

    def issue(
        self,
        *,
        bucket: str,
        prefixes: Sequence[str],
        permission: Literal["object-read-only", "object-read-write"],
        ttl: timedelta,
    ) -> TemporaryCredentials:
        """Mint a credential limited to `prefixes` of `bucket` until now + `ttl`."""
        if not is_valid_bucket_name(bucket):
            raise ValueError(f"invalid bucket name {bucket!r}")
        if isinstance(prefixes, str):
            raise TypeError("prefixes must be a sequence of strings, not a string")
        if not prefixes:
            raise ValueError("at least one prefix is required ('' grants the whole bucket)")
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        if ttl <= timedelta(0) or ttl > MAX_TTL:
            raise ValueError(f"ttl must be positive and at most {MAX_TTL}")
        normalized = sorted({_normalize_prefix(p) for p in prefixes})
        expiration = (self._clock() + ttl).replace(microsecond=0)
        access_key_id = "T" + secrets.token_hex(15).upper()
        payload = {
            "k": access_key_id,
            "b": bucket,
            "p": normalized,
            "m": _PERMISSION_CODES[permission],
            "e": int(expiration.timestamp()),
        }
        body = _b64e(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{_TOKEN_VERSION}.{body}"
        token = f"{signed}.{_b64e(self._mac(signed))}"
        return TemporaryCredentials(
            access_key_id=access_key_id,
            secret_access_key=self.temporary_secret(access_key_id),
            session_token=token,
            expiration=expiration,
        )

    def temporary_secret(self, access_key_id: str) -> str:
        return hmac.new(self._secret_key, access_key_id.encode("utf-8"), "sha256").hexdigest()

    def verify(self, access_key_id: str, session_token: str) -> SessionGrant:
        """Check a token's signature, binding and expiry; AccessDenied on any failure."""
        parts = session_token.split(".")
        if len(parts) != 3 or parts[0] != _TOKEN_VERSION:
            raise errors.AccessDenied("The provided session token is malformed or invalid.")
        signed = f"{parts[0]}.{parts[1]}"
        try:
            mac = _b64d(parts[2])
            payload = json.loads(_b64d(parts[1]))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise errors.AccessDenied("The provided session token is malformed.") from exc
        if not hmac.compare_digest(mac, self._mac(signed)):
            raise errors.AccessDenied("The provided session token is invalid.")
        grant = _grant_from_payload(payload)
        if grant.access_key_id != access_key_id:
            raise errors.AccessDenied("The session token does not belong to this access key.")
        if self._clock() >= grant.expiration:
            raise errors.AccessDenied("The provided session token has expired.")
        return grant

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._token_key, signed.encode("ascii"), hashlib.sha256).digest()


def _grant_from_payload(payload: object) -> SessionGrant:
    """Decode a payload whose MAC already verified; shape errors still mean a bad token."""
    try:
        data = cast(dict[str, object], payload)
        prefixes = data["p"]
        if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
            raise TypeError("prefixes")
        return SessionGrant(
            access_key_id=str(data["k"]),
            bucket=str(data["b"]),
            prefixes=tuple(cast(list[str], prefixes)),
            permission=_CODE_PERMISSIONS[str(data["m"])],
            expiration=datetime.fromtimestamp(int(cast(int, data["e"])), UTC),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.AccessDenied("The provided session token is malformed.") from exc
