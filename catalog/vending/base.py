"""What every vendor does: credentials for one location prefix, read-only or read-write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

Access = Literal["read", "write"]
DEFAULT_TTL = timedelta(hours=1)
TTL_PROPERTY = "credentials.ttl-seconds"


@dataclass(frozen=True)
class StorageCredential:
    """The spec's StorageCredential: a prefix and the client properties that reach it."""

    prefix: str
    config: dict[str, str]
    expires_at: datetime

    def as_wire(self) -> dict[str, object]:
        return {"prefix": self.prefix, "config": self.config}


class CredentialVendor(Protocol):
    def vend(self, prefix: str, access: Access, ttl: timedelta) -> StorageCredential:
        """Credentials valid only under `prefix` (which ends with '/')."""
        ...


class VendingUnavailable(Exception):
    """The vendor's upstream (an STS, Cloudflare's API) refused or failed."""


def expires_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def s3_client_config(
    access_key_id: str,
    secret_access_key: str,
    session_token: str,
    expires_at: datetime,
    endpoint: str | None,
    region: str,
    path_style: bool,
) -> dict[str, str]:
    """The FileIO properties PyIceberg, Spark and DuckDB read from a LoadTableResult."""
    config = {
        "s3.access-key-id": access_key_id,
        "s3.secret-access-key": secret_access_key,
        "s3.session-token": session_token,
        "s3.session-token-expires-at-ms": expires_ms(expires_at),
        "client.region": region,
        "s3.region": region,
        "s3.path-style-access": "true" if path_style else "false",
    }
    if endpoint:
        config["s3.endpoint"] = endpoint
    return config
