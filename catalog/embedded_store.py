"""The catalog's side of the embedded S3 store: its endpoint, its root keys, its buckets.

A warehouse on the embedded store keeps only `{"type": "embedded"}` as its storage profile:
the endpoint and the root keys are filled in at run time from here, so no secret of the
store ever sits in the catalog database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from catalog.settings import Settings
from storage.s3 import (
    CredentialAuthority,
    RootCredentials,
    S3Application,
    load_or_create_root_credentials,
)

EMBEDDED = "embedded"
REGION = "auto"


@dataclass(frozen=True)
class EmbeddedStore:
    endpoint: str
    root: RootCredentials
    local: S3Application | None = None  # set when the store runs in this process

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedStore:
        root = load_or_create_root_credentials(
            settings.s3_data_dir,
            settings.s3_root_access_key_id,
            settings.s3_root_secret_access_key,
        )
        return cls(settings.s3_endpoint, root)

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

    def prepare(self, location: str, profile: dict[str, Any]) -> None:
        """Create the bucket of a new warehouse on the embedded store."""
        if profile.get("type") == EMBEDDED:
            self.ensure_bucket(urlsplit(location).netloc)

    def ensure_bucket(self, bucket: str) -> None:
        if self.local is not None:
            if bucket not in {b.name for b in self.local.store.list_buckets()}:
                self.local.store.create_bucket(bucket)
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
