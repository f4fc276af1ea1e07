"""The catalog's side of the embedded S3 store: its endpoint, its root keys, its buckets.

A warehouse on the embedded store keeps only `{"type": "embedded"}` as its storage profile:
the endpoint and the root keys are filled in at run time from here, so no secret of the
store ever sits in the catalog database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from catalog.settings import Settings
from storage.embedded import EmbeddedObjectStore
from storage.io import ObjectStore, object_store_for
from storage.s3 import (
    CredentialAuthority,
    RootCredentials,
    S3Application,
    S3ServerConfig,
    create_s3_app,
    load_or_create_root_credentials,
)
from storage.s3.auth import Principal
from storage.s3.cors import META_KEY, console_rule, dump_rules

EMBEDDED = "embedded"
REGION = "auto"
ENDPOINT_FILE = "endpoint"  # in the store's data directory: where `serve` serves it
_ENDPOINT_SETTINGS = {"s3_port", "s3_public_url", "host"}


@dataclass(frozen=True)
class EmbeddedStore:
    endpoint: str
    root: RootCredentials
    local: S3Application | None = None  # set when the store runs in this process
    console_origins: tuple[str, ...] = ()  # may PUT uploads into the buckets made here

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedStore:
        root = load_or_create_root_credentials(
            settings.s3_data_dir,
            settings.s3_root_access_key_id,
            settings.s3_root_secret_access_key,
        )
        return cls(served_endpoint(settings), root)

    @classmethod
    def serving(cls, settings: Settings) -> EmbeddedStore:
        """The store run in this process (by `serve`, or by each of its workers), on the data
        directory and root keys of these settings."""
        app = create_s3_app(
            S3ServerConfig(
                data_dir=settings.s3_data_dir,
                root_access_key_id=settings.s3_root_access_key_id,
                root_secret_access_key=settings.s3_root_secret_access_key,
            )
        )
        return cls(settings.s3_endpoint, app.root_credentials, app, console_origins(settings))

    @property
    def authority(self) -> CredentialAuthority:
        return CredentialAuthority(self.root.access_key_id, self.root.secret_access_key)

    def profile(self) -> dict[str, Any]:
        """The full storage profile: what pyarrow needs to reach the store as root."""
        return {
            "type": EMBEDDED,
            "endpoint": self.endpoint,
            "region": REGION,
            "path-style-access": True,
            "access-key-id": self.root.access_key_id,
            "secret-access-key": self.root.secret_access_key,
        }

    def resolve(self, profile: dict[str, Any]) -> dict[str, Any]:
        return self.profile() if profile.get("type") == EMBEDDED else profile

    def open(self, location: str, profile: dict[str, Any]) -> ObjectStore:
        """The store for a warehouse at `location` (its profile resolved): on the embedded
        store served by this process, that store in-process, as its root; else over S3."""
        if self.local is not None and profile.get("type") == EMBEDDED:
            return EmbeddedObjectStore(
                self.local.store,
                Principal(self.root.access_key_id, None),
                max_object_size=self.local.config.max_object_size,
            )
        return object_store_for(location, profile)

    def prepare(self, location: str, profile: dict[str, Any]) -> None:
        """Create the bucket of a new warehouse on the embedded store."""
        if profile.get("type") == EMBEDDED:
            self.ensure_bucket(urlsplit(location).netloc)

    def ensure_bucket(self, bucket: str) -> None:
        if self.local is not None:
            if bucket not in {b.name for b in self.local.store.list_buckets()}:
                self.local.store.create_bucket(bucket)
                if self.console_origins:
                    rules = [console_rule(self.console_origins)]
                    self.local.store.bucket(bucket).index.set_meta(META_KEY, dump_rules(rules))
            return
        parts = urlsplit(self.endpoint)
        filesystem = pafs.S3FileSystem(
            access_key=self.root.access_key_id,
            secret_key=self.root.secret_access_key,
            endpoint_override=parts.netloc,
            scheme=parts.scheme,
            region=REGION,
            allow_bucket_creation=True,
        )
        if filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
            filesystem.create_dir(bucket)


def console_origins(settings: Settings) -> tuple[str, ...]:
    """The origins of the console `serve` answers at `/ui`: its address, and on a loopback
    host both spellings a browser may use for it."""
    origin = settings.base_url
    parts = urlsplit(origin)
    origins = [f"{parts.scheme}://{parts.netloc}"]
    for here, alias in (("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")):
        if parts.hostname == here and not settings.public_url:
            origins.append(f"{parts.scheme}://{alias}:{parts.port}")
    return tuple(origins)


def record_endpoint(settings: Settings) -> None:
    """Written by `serve` on start, so that a command run beside it (`icefloe maintain`)
    reaches the store where it really is, not at the default port."""
    path = settings.s3_data_dir / ENDPOINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{ENDPOINT_FILE}.{os.getpid()}")
    temporary.write_text(settings.s3_endpoint + "\n")
    temporary.replace(path)


def served_endpoint(settings: Settings) -> str:
    """The endpoint these settings name when they name one (a port, a public URL, a host),
    else the one the last `serve` on this data directory recorded, else the default."""
    recorded = settings.s3_data_dir / ENDPOINT_FILE
    if _ENDPOINT_SETTINGS & settings.model_fields_set or not recorded.exists():
        return settings.s3_endpoint
    return recorded.read_text().strip() or settings.s3_endpoint
