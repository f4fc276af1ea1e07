"""Vending on Cloudflare R2: temporary credentials minted by Cloudflare's API, enforced by R2.

R2 has no STS. Cloudflare's API derives a temporary credential from an existing R2 API token
(the parent), limited to a bucket, to prefixes and to a permission, and R2 enforces that scope.
A warehouse's profile (`{"type": "r2", ...}`) names the account and the parent key, or the
settings (`ICEFLOE_R2_*`) do. The API token is a secret: when `ICEFLOE_R2_API_TOKEN` is set it
is the token used, and a profile may not carry one; only without that setting may a profile
carry `api-token` (then stored in the catalog database, and hidden by the admin API).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from catalog.settings import Settings
from catalog.vending.base import (
    Access,
    CredentialVendor,
    StorageCredential,
    VendingUnavailable,
    s3_client_config,
)

R2 = "r2"
REGION = "auto"
DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
# The API's documented maximum for `ttlSeconds` (its default is 900).
MAX_TTL_SECONDS = 604_800
_ACCOUNT_ID = re.compile(r"[0-9a-f]{32}")
_MESSAGE_LIMIT = 300


def r2_endpoint(account_id: str) -> str:
    """Where S3 clients reach an account's buckets (the reference's boto3 page)."""
    return f"https://{account_id}.r2.cloudflarestorage.com"


@dataclass(frozen=True)
class R2Defaults:
    """What the settings supply to R2 warehouses whose profile does not say."""

    account_id: str | None = None
    api_token: str | None = field(default=None, repr=False)
    parent_access_key_id: str | None = None
    api_base: str = DEFAULT_API_BASE
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> R2Defaults:
        token = settings.r2_api_token
        return cls(
            account_id=settings.r2_account_id,
            api_token=token.get_secret_value() if token else None,
            parent_access_key_id=settings.r2_parent_access_key_id,
            api_base=settings.r2_api_base,
            timeout_seconds=settings.r2_api_timeout_seconds,
        )


@dataclass(frozen=True)
class R2Account:
    """One warehouse's way to Cloudflare's API: which account, which token, which parent key."""

    account_id: str
    api_token: str = field(repr=False)
    parent_access_key_id: str


def is_r2(profile: Mapping[str, Any]) -> bool:
    return profile.get("type") == R2


class R2Profiles:
    """R2 storage profiles: what the settings fill in, and what a new warehouse must name."""

    def __init__(self, defaults: R2Defaults) -> None:
        self.defaults = defaults

    def account(self, profile: Mapping[str, Any]) -> R2Account:
        """The warehouse's account, token and parent key; ValueError (naming no secret) when
        one is missing or malformed."""
        account_id = str(profile.get("account-id") or self.defaults.account_id or "")
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise ValueError(
                "an R2 warehouse needs a Cloudflare account id (32 hex digits): set "
                "'account-id' in its storage profile or ICEFLOE_R2_ACCOUNT_ID"
            )
        token = self.defaults.api_token or str(profile.get("api-token") or "")
        if not token:
            raise ValueError(
                "an R2 warehouse needs a Cloudflare API token that may create temporary "
                "credentials: set ICEFLOE_R2_API_TOKEN"
            )
        parent = str(
            profile.get("parent-access-key-id")
            or self.defaults.parent_access_key_id
            or profile.get("access-key-id")
            or ""
        )
        if not parent:
            raise ValueError(
                "an R2 warehouse needs the access key id of the parent R2 API token: set "
                "'parent-access-key-id' in its storage profile or ICEFLOE_R2_PARENT_ACCESS_KEY_ID"
            )
        return R2Account(account_id, token, parent)

    def resolve(self, profile: dict[str, Any]) -> dict[str, Any]:
        """The full profile the catalog itself reaches the bucket with.

        The endpoint follows from the account. Without keys of its own the catalog uses the
        parent token's S3 keys, as Cloudflare derives them ("Get S3 API credentials from an
        API token": the access key id is the token's id, the secret the SHA-256 of its value),
        so a profile can name no secret at all.
        """
        if not is_r2(profile):
            return profile
        resolved = dict(profile)
        resolved["region"] = REGION
        account_id = profile.get("account-id") or self.defaults.account_id
        if not resolved.get("endpoint") and account_id:
            resolved["endpoint"] = r2_endpoint(str(account_id))
        token = self.defaults.api_token or profile.get("api-token")
        parent = profile.get("parent-access-key-id") or self.defaults.parent_access_key_id
        if not resolved.get("access-key-id") and parent and token:
            resolved["access-key-id"] = parent
            resolved["secret-access-key"] = hashlib.sha256(str(token).encode()).hexdigest()
        return resolved

    def check(self, profile: Mapping[str, Any]) -> None:
        """At warehouse creation: everything needed to vend is known, no secret is stored twice."""
        if not is_r2(profile):
            return
        if profile.get("api-token") and self.defaults.api_token:
            raise ValueError(
                "'api-token' is set by ICEFLOE_R2_API_TOKEN; leave it out of the storage "
                "profile so that it is not stored in the catalog database"
            )
        self.account(profile)
        endpoint = profile.get("endpoint")
        if endpoint and urlsplit(str(endpoint)).scheme not in ("http", "https"):
            raise ValueError("'endpoint' must be an http(s) URL")


class R2Vendor:
    """Credentials for one table prefix from Cloudflare's temporary access credentials API."""

    def __init__(
        self,
        profiles: R2Profiles,
        profile: Mapping[str, Any],
        http: httpx.Client,
    ) -> None:
        self._profiles = profiles
        self._profile = profile
        self._http = http

    def vend(self, prefix: str, access: Access, ttl: timedelta) -> StorageCredential:
        try:
            account = self._profiles.account(self._profile)
        except ValueError as error:
            raise VendingUnavailable(str(error)) from None
        parts = urlsplit(prefix)
        bucket, key_prefix = parts.netloc, parts.path.lstrip("/")
        permission = "object-read-write" if access == "write" else "object-read-only"
        seconds = max(1, min(int(ttl.total_seconds()), MAX_TTL_SECONDS))
        # /work/shared/reference/002_*, page "Authentication · Cloudflare R2 docs", section
        # "Temporary access credentials" (endpoint, parent access key id, the three result
        # values), and the API reference it links for the fields
        # (api/resources/r2/subresources/temporary_credentials/methods/create): POST
        # /accounts/{account_id}/r2/temp-access-credentials with a bearer API token; body
        # `bucket`, `parentAccessKeyId`, `permission` ("object-read-only" | "object-read-write"
        # for objects), `ttlSeconds` (at most 604800) and optional `prefixes`; the answer is
        # Cloudflare's envelope {"success", "errors", "messages", "result": {"accessKeyId",
        # "secretAccessKey", "sessionToken"}}. The prefix ends with '/', so `tbl1/` never
        # reaches `tbl10/`.
        body = {
            "bucket": bucket,
            "parentAccessKeyId": account.parent_access_key_id,
            "permission": permission,
            "ttlSeconds": seconds,
            "prefixes": [key_prefix],
        }
        url = (
            f"{self._profiles.defaults.api_base.rstrip('/')}"
            f"/accounts/{account.account_id}/r2/temp-access-credentials"
        )
        issued_at = datetime.now(UTC).replace(microsecond=0)
        try:
            response = self._http.post(
                url, json=body, headers={"Authorization": f"Bearer {account.api_token}"}
            )
        except httpx.TimeoutException:
            raise VendingUnavailable("Cloudflare's API did not answer in time") from None
        except httpx.HTTPError as error:
            raise VendingUnavailable(
                f"Cloudflare's API could not be reached ({type(error).__name__})"
            ) from None
        result = _result(response, account.api_token)
        expires_at = issued_at + timedelta(seconds=seconds)
        config = s3_client_config(
            result["accessKeyId"],
            result["secretAccessKey"],
            result["sessionToken"],
            expires_at,
            str(self._profile.get("endpoint") or r2_endpoint(account.account_id)),
            REGION,
            path_style=bool(self._profile.get("path-style-access", True)),
        )
        return StorageCredential(prefix, config, expires_at)


def _result(response: httpx.Response, api_token: str) -> dict[str, str]:
    """The credentials in Cloudflare's envelope, or VendingUnavailable saying why not."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    envelope = payload if isinstance(payload, dict) else {}
    if not response.is_success or envelope.get("success") is not True:
        raise VendingUnavailable(
            f"Cloudflare's API refused temporary credentials (HTTP {response.status_code}"
            f"{_errors(envelope, api_token)})"
        )
    result = envelope.get("result")
    keys = ("accessKeyId", "secretAccessKey", "sessionToken")
    if not isinstance(result, dict) or not all(
        isinstance(result.get(k), str) and result[k] for k in keys
    ):
        raise VendingUnavailable("Cloudflare's API answered without credentials")
    return {k: str(result[k]) for k in keys}


def _errors(envelope: Mapping[str, Any], api_token: str) -> str:
    """Cloudflare's own error codes and messages, which help an operator; never the token,
    even if an error were to echo it."""
    errors = envelope.get("errors")
    if not isinstance(errors, list) or not errors:
        return ""
    described = "; ".join(
        f"{e.get('code', '?')}: {e.get('message', '')}" if isinstance(e, dict) else str(e)
        for e in errors[:3]
    )
    return ": " + described.replace(api_token, "[redacted]")[:_MESSAGE_LIMIT]


class R2VendorFactory:
    """Builds a warehouse's vendor; one HTTP connection pool serves them all."""

    def __init__(self, profiles: R2Profiles) -> None:
        self._profiles = profiles
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    timeout=self._profiles.defaults.timeout_seconds, follow_redirects=False
                )
            return self._http

    def __call__(self, profile: dict[str, Any]) -> CredentialVendor:
        return R2Vendor(self._profiles, profile, self._client())
