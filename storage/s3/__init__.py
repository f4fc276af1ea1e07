"""icefloe's embedded, R2-compatible S3 endpoint.

The catalog uses three things from here: `create_s3_app` to serve the endpoint,
`S3ServerConfig` to configure it, and `CredentialAuthority` to vend temporary,
prefix-scoped credentials that the endpoint verifies statelessly.
"""

from storage.s3.app import S3Application, create_s3_app
from storage.s3.config import S3ServerConfig
from storage.s3.credentials import CredentialAuthority, TemporaryCredentials
from storage.s3.rootkeys import RootCredentials, load_or_create_root_credentials

__all__ = [
    "CredentialAuthority",
    "RootCredentials",
    "S3Application",
    "S3ServerConfig",
    "TemporaryCredentials",
    "create_s3_app",
    "load_or_create_root_credentials",
]
