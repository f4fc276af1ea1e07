"""Vending on the embedded store: its own temporary credentials, checked statelessly by it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from catalog.vending.base import Access, StorageCredential, s3_client_config
from storage.s3 import CredentialAuthority


class EmbeddedVendor:
    def __init__(self, authority: CredentialAuthority, endpoint: str, region: str = "auto") -> None:
        self._authority = authority
        self._endpoint = endpoint
        self._region = region

    def vend(self, prefix: str, access: Access, ttl: timedelta) -> StorageCredential:
        parts = urlsplit(prefix)
        key_prefix = parts.path.lstrip("/")
        issued = self._authority.issue(
            bucket=parts.netloc,
            prefixes=[key_prefix],
            permission="object-read-write" if access == "write" else "object-read-only",
            ttl=ttl,
        )
        config = s3_client_config(
            issued.access_key_id,
            issued.secret_access_key,
            issued.session_token,
            issued.expiration,
            self._endpoint,
            self._region,
            path_style=True,
        )
        return StorageCredential(prefix, config, issued.expiration)
