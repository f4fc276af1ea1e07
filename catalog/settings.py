"""All configuration in one place: environment variables `ICEFLOE_*`, overridden by CLI flags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSink(BaseModel):
    """One HTTP receiver of change events (docs/events.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Names its deliveries.")
    url: str = Field(pattern=r"^https?://", description="Where each event is POSTed.")
    secret: SecretStr = Field(description="Key of the HMAC-SHA256 signature of each body.")
    timeout_seconds: float = Field(default=10.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICEFLOE_", extra="ignore")

    data_dir: Path = Field(default=Path("icefloe-data"), description="Where SQLite and files live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite in the data directory."
    )
    host: str = "127.0.0.1"
    port: int = 8181
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Processes serving the sockets; default: one per core on PostgreSQL, one on "
        "SQLite (which serializes writers).",
    )
    public_url: str | None = Field(
        default=None, description="How clients reach the catalog, when not http://host:port."
    )
    default_warehouse: str = Field(
        default="default", description="Created on first start; used when a client names none."
    )
    default_warehouse_storage: Literal["embedded", "file"] | None = Field(
        default=None,
        description="Where the default warehouse lives: the embedded store when it runs, "
        "else the data directory.",
    )
    idempotency_key_lifetime: timedelta = timedelta(minutes=30)
    max_request_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Larger bodies are refused (413); a commit or a view is a few KB.",
    )
    max_page_size: int = 1000
    planning_submit_manifests: int = Field(
        default=64,
        ge=1,
        description="Scans with more data manifests (after pruning) answer `submitted`; "
        "PyIceberg 0.12 cannot poll, so keep this above its tables' manifest counts.",
    )
    planning_task_manifests: int = Field(
        default=16, ge=1, description="Data manifests per plan task (one fetchScanTasks page)."
    )
    planning_read_threads: int = Field(
        default=4,
        ge=1,
        description="Threads per process reading a page's manifests in parallel (shared by "
        "every plan; a request still holds one page).",
    )
    planning_cache_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description="Bound of the manifest cache (decoded manifests, estimated) per process.",
    )
    planning_token_lifetime: timedelta = Field(
        default=timedelta(hours=1), description="How long plan ids and plan tasks stay valid."
    )
    commit_retries: int = Field(
        default=8, description="Server-side retries when the pointer moved but requirements hold."
    )
    auth_enabled: bool = Field(
        default=True, description="Off only with `serve --no-auth`: every caller is an admin."
    )
    jwt_signing_key: str | None = Field(
        default=None, description="HS256 key for OAuth2 access tokens; default: generated."
    )
    access_token_lifetime: timedelta = timedelta(hours=1)
    secrets_key: SecretStr | None = Field(
        default=None,
        description="Key that seals warehouse storage secrets in the database: 32 bytes in "
        "base64 (`openssl rand -base64 32`); default: generated into the data directory "
        "(secrets.key) when a secret is first stored. Set the same key on every process "
        "that shares a database.",
    )
    oidc_issuer: str | None = Field(default=None, description="Accept JWTs from this issuer.")
    oidc_audience: str = "icefloe"
    oidc_role_claim: str = "roles"
    oidc_roles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='Role -> grant, e.g. {"analysts": {"permission": "read-only", '
        '"warehouses": ["default"]}}.',
    )
    oidc_leeway_seconds: int = 60
    console_client_id: str | None = Field(
        default=None,
        description="The browser console's public OIDC client id (authorization code + PKCE); "
        "unset: the console signs in with API tokens only.",
    )
    console_oidc_scope: str = "openid profile"
    console_connect_origins: list[str] = Field(
        default_factory=list,
        description="More origins the console may call (its Content-Security-Policy "
        "connect-src), e.g. an external object store that takes presigned uploads.",
    )
    embedded_s3: bool = Field(
        default=True, description="Serve the embedded S3-compatible store beside the catalog."
    )
    s3_port: int = 9000
    s3_public_url: str | None = Field(
        default=None, description="How clients reach the embedded store, when not host:s3_port."
    )
    s3_root_access_key_id: str | None = None
    s3_root_secret_access_key: str | None = None
    r2_account_id: str | None = Field(
        default=None, description="Cloudflare account of R2 warehouses whose profile names none."
    )
    r2_api_token: SecretStr | None = Field(
        default=None,
        description="Cloudflare API token that may create R2 temporary credentials; "
        "kept out of the catalog database.",
    )
    r2_parent_access_key_id: str | None = Field(
        default=None,
        description="Access key id of the R2 API token temporary credentials derive from.",
    )
    r2_api_base: str = "https://api.cloudflare.com/client/v4"
    r2_api_timeout_seconds: float = Field(default=10.0, gt=0)
    maintenance_enabled: bool = Field(
        default=True,
        description="Run the maintenance scheduler (compaction, snapshot expiration, orphan "
        "removal) inside the server.",
    )
    maintenance_interval_seconds: float = Field(
        default=3600,
        gt=0,
        description="Time between scheduler rounds; the first round starts one interval "
        "after start.",
    )
    maintenance_lease_seconds: float = Field(
        default=600,
        gt=0,
        description="Lifetime of a table's maintenance lease; renewed while a job runs, so a "
        "crashed holder's lease is taken over this long after its last renewal.",
    )
    trash_retention_seconds: int = Field(
        default=7 * 86400,
        ge=0,
        description="How long a dropped table or view stays in its warehouse's trash, where "
        "the warehouse sets no `icefloe.trash.retention-seconds`; 0 drops at once.",
    )
    event_webhooks: list[WebhookSink] = Field(
        default_factory=list,
        description='Change-event webhooks, e.g. [{"name": "ci", "url": "https://…", '
        '"secret": "…"}] (docs/events.md).',
    )
    event_nats_url: str | None = Field(
        default=None, description="Publish change events to this NATS server (nats://host:4222)."
    )
    event_nats_subject: str = Field(
        default="icefloe.events",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Events go to <subject>.<kind>.<change>, e.g. icefloe.events.table.committed.",
    )
    event_max_attempts: int = Field(
        default=8, ge=1, description="Attempts per event and sink before it is dead-lettered."
    )
    event_retry_seconds: float = Field(
        default=1.0, gt=0, description="First retry delay; doubles with each attempt."
    )
    event_retry_max_seconds: float = Field(default=300.0, gt=0)
    event_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often the dispatcher looks for new events."
    )
    event_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Lifetime of the dispatcher's lease: a crashed dispatcher's successor takes "
        "over this long after its last renewal.",
    )
    event_retention_seconds: int = Field(
        default=30 * 86400,
        ge=0,
        description="How long change events stay in the outbox (and the polling API) once "
        "every sink has delivered or dead-lettered them; 0 keeps them forever.",
    )
    metrics_port: int | None = Field(
        default=None,
        description="Also serve GET /metrics on this port, without authentication (for a "
        "private network); on the catalog's port it always needs an admin token.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="Send OpenTelemetry traces over OTLP/HTTP here (e.g. "
        "http://collector:4318/v1/traces); default: no tracing, at no cost.",
    )
    upload_expiry: timedelta = Field(
        default=timedelta(minutes=15),
        gt=timedelta(0),
        le=timedelta(days=1),
        description="How long an upload slot's presigned PUT URL (and the slot) stays valid.",
    )
    upload_max_bytes: int = Field(
        default=512 * 1024 * 1024,
        gt=0,
        description="Largest file an upload slot accepts; the catalog reads it whole to check it.",
    )
    preview_max_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest JSON body a table preview answers."
    )
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def s3_data_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def s3_endpoint(self) -> str:
        if self.s3_public_url:
            return self.s3_public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.s3_port}"

    @property
    def default_warehouse_location(self) -> str:
        return (self.data_dir / "warehouse" / self.default_warehouse).resolve().as_uri()
