"""Upload slots: one object key a browser or script may PUT once, and the id that names it.

An upload id is self-contained and sealed with an HMAC (no table row, so any process of
`serve --workers N` that shares the signing key can commit it): the warehouse, namespace and
table (by uuid) it was made for, the exact staged key, the content type, the largest size and
an expiry. Nothing in it is trusted unless the seal holds, and a slot made for one table is
refused by every other.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from catalog.auth.sealed import InvalidSeal, Sealer
from catalog.exceptions import BadRequest, StorageUnavailable
from catalog.service.context import ServiceContext
from catalog.store.records import WarehouseRecord
from catalog.vending.base import VendingUnavailable
from storage.s3.presign import SigningKeys, presign_put

PARQUET = "application/vnd.apache.parquet"
CSV = "text/csv"
CONTENT_TYPES = (PARQUET, CSV)
_LABEL = b"icefloe upload slot v1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadSlot:
    warehouse: str
    namespace: tuple[str, ...]
    table_uuid: str | None  # None: a file for a table still to be created
    location: str  # the staged object, e.g. s3://bucket/…/staging/uploads/<uuid>/<name>
    content_type: str
    max_bytes: int
    expires_at: int  # seconds since the epoch

    @property
    def expired(self) -> bool:
        return time.time() > self.expires_at


class SlotSeal:
    """Seals and opens upload ids with a key derived from the server's signing key."""

    def __init__(self, server_key: bytes) -> None:
        self._sealer = Sealer(server_key, _LABEL)

    def seal(self, slot: UploadSlot) -> str:
        return self._sealer.seal(
            {
                "w": slot.warehouse,
                "n": list(slot.namespace),
                "t": slot.table_uuid,
                "k": slot.location,
                "c": slot.content_type,
                "m": slot.max_bytes,
                "e": slot.expires_at,
            }
        )

    def open(self, upload_id: str) -> UploadSlot:
        """The slot an id names; 400 for anything this server did not seal."""
        try:
            fields = self._sealer.open(upload_id)
        except InvalidSeal:
            raise BadRequest("Unknown upload id: ask for a new upload slot") from None
        return UploadSlot(
            fields["w"],
            tuple(fields["n"]),
            fields["t"],
            fields["k"],
            fields["c"],
            int(fields["m"]),
            int(fields["e"]),
        )


def safe_file_name(name: str) -> str:
    """The file name as one harmless key segment: letters, digits, `.`, `_`, `-` only."""
    cleaned = _UNSAFE.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")
    return cleaned[:100] or "upload"


def staged_location(base: str, file_name: str) -> str:
    """A fresh key under `base`'s staging prefix: `<base>/staging/uploads/<uuid>/<name>`."""
    return f"{base.rstrip('/')}/staging/uploads/{uuid.uuid4().hex}/{safe_file_name(file_name)}"


def check_request(content_type: str, content_length: int, limit: int) -> None:
    if content_type not in CONTENT_TYPES:
        raise BadRequest(f"content-type must be one of {', '.join(CONTENT_TYPES)}")
    if content_length < 1 or content_length > limit:
        raise BadRequest(f"content-length must be between 1 and {limit} bytes")


def presigned_url(
    context: ServiceContext, warehouse: WarehouseRecord, slot: UploadSlot, expiry: timedelta
) -> str:
    """A PUT URL for the slot's key only, signed with credentials vended for that key's
    folder when the warehouse vends (never the store's root keys), else its own keys."""
    parts = urlsplit(slot.location)
    if parts.scheme not in ("s3", "s3a", "s3n"):
        raise BadRequest("Uploads need a warehouse on S3-compatible storage")
    profile = context.storage.profile(warehouse)
    vendor = context.vendors.vendor(warehouse, profile)
    folder = slot.location.rsplit("/", 1)[0] + "/"
    if vendor is not None:
        try:
            config = vendor.vend(folder, "write", expiry).config
        except VendingUnavailable as error:
            raise StorageUnavailable(f"Credential vending failed: {error}") from error
        endpoint = config.get("s3.endpoint")
        keys = SigningKeys(
            config["s3.access-key-id"],
            config["s3.secret-access-key"],
            config.get("s3.session-token"),
            config.get("s3.region") or config.get("client.region") or "auto",
        )
    else:
        endpoint = profile.get("endpoint")
        if not profile.get("access-key-id") or not profile.get("secret-access-key"):
            raise BadRequest("Uploads need a warehouse with S3 keys or credential vending")
        keys = SigningKeys(
            str(profile["access-key-id"]),
            str(profile["secret-access-key"]),
            profile.get("session-token"),
            str(profile.get("region") or "us-east-1"),
        )
    if not endpoint:
        endpoint = f"https://s3.{keys.region}.amazonaws.com"
    return presign_put(
        str(endpoint),
        parts.netloc,
        parts.path.lstrip("/"),
        keys,
        {"content-type": slot.content_type, "content-length": str(slot.max_bytes)},
        int(expiry.total_seconds()),
        datetime.now(UTC),
    )
