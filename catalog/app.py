"""create_app(settings) -> FastAPI: everything wired explicitly, nothing global."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from catalog import __version__, data_dir
from catalog.api import (
    admin,
    config,
    health,
    maintenance,
    metrics,
    namespaces,
    oauth,
    signer,
    tables,
    transactions,
    views,
)
from catalog.api.errors import install_error_handlers
from catalog.api.middleware import RequestContextMiddleware
from catalog.api.security import Authenticator
from catalog.api.tables_fast import TablesFastPath
from catalog.auth.access_tokens import AccessTokenIssuer, load_or_create_signing_key
from catalog.auth.oidc import OidcVerifier, parse_role_map
from catalog.embedded_store import EmbeddedStore
from catalog.maintenance.control import MaintenanceService
from catalog.maintenance.scheduler import Scheduler
from catalog.observability import tracing
from catalog.observability.metrics import start_flushing, watch_pool
from catalog.profile_secrets import ProfileSecrets
from catalog.service.catalog import CatalogService
from catalog.service.context import Limits, ServiceContext, StorageResolver
from catalog.settings import Settings
from catalog.store.database import create_catalog_engine, is_sqlite, scrub_sqlite
from catalog.store.migrate import upgrade
from catalog.store.pointers import TablePointers
from catalog.store.repository import SqlCatalogStore
from catalog.vending.r2 import R2Defaults, R2Profiles
from catalog.vending.registry import VendorRegistry, cloud_factories
from catalog.vending.sts import check_sts_profile

log = logging.getLogger("icefloe.app")


def build_catalog(
    settings: Settings, embedded: EmbeddedStore | None = None, *, migrate: bool = True
) -> CatalogService:
    """The service over a migrated database; shared by the server and the CLI.

    Without an in-process embedded store, warehouses on it are reached through the endpoint
    and root keys in the settings and the store's data directory. `migrate=False` is for the
    workers of `serve --workers N`, whose parent has migrated and sealed already.
    """
    data_dir.prepare(settings)
    engine = create_catalog_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    limits = Limits(
        max_page_size=settings.max_page_size,
        commit_retries=settings.commit_retries,
        idempotency_lifetime=settings.idempotency_key_lifetime,
    )
    if embedded is None and settings.s3_data_dir.exists():
        embedded = EmbeddedStore.from_settings(settings)
    r2 = R2Profiles(R2Defaults.from_settings(settings))

    def resolve(profile: dict[str, Any]) -> dict[str, Any]:
        return r2.resolve(embedded.resolve(profile) if embedded else profile)

    def prepare(location: str, profile: dict[str, Any]) -> None:
        r2.check(profile)
        check_sts_profile(profile)
        if embedded:
            embedded.prepare(location, profile)

    key = settings.secrets_key
    secrets = ProfileSecrets(
        key.get_secret_value() if key else None, settings.data_dir / data_dir.SECRETS_KEY_FILE
    )
    storage = StorageResolver(resolve, prepare, secrets)
    vendors = VendorRegistry(embedded, cloud_factories(r2))
    context = ServiceContext(SqlCatalogStore(engine), storage, limits, vendors)
    catalog = CatalogService(context)
    if not migrate:
        return catalog
    if catalog.warehouses.seal_stored_secrets() and is_sqlite(engine) and not scrub_sqlite(engine):
        log.warning(
            "event=database_not_scrubbed detail=%s",
            "another process was reading; the clear secrets leave the -wal file at its next "
            "checkpoint",
        )
    return catalog


def build_authenticator(settings: Settings, catalog: CatalogService) -> Authenticator:
    key = load_or_create_signing_key(settings.data_dir, settings.jwt_signing_key)
    issuer = AccessTokenIssuer(key, int(settings.access_token_lifetime.total_seconds()))
    oidc = None
    if settings.oidc_issuer:
        oidc = OidcVerifier(
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_role_claim,
            parse_role_map(settings.oidc_roles),
            settings.oidc_leeway_seconds,
        )
    return Authenticator(catalog.tokens, issuer, oidc, settings.auth_enabled)


def create_app(settings: Settings, catalog: CatalogService | None = None) -> FastAPI:
    catalog = catalog or build_catalog(settings)

    maintenance_service = MaintenanceService(
        catalog.context, lease_ttl=timedelta(seconds=settings.maintenance_lease_seconds)
    )
    # Started by the lifespan, or by `icefloe serve` (which runs uvicorn with lifespan off).
    scheduler = (
        Scheduler(maintenance_service, timedelta(seconds=settings.maintenance_interval_seconds))
        if settings.maintenance_enabled
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        yield
        if scheduler is not None:
            await run_in_threadpool(scheduler.stop)
        catalog.context.store.engine.dispose()  # type: ignore[attr-defined]

    app = FastAPI(
        title="icefloe",
        version=__version__,
        summary="Apache Iceberg REST catalog",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
        # No spec path ends in "/": such a path is an unknown route (404), not a 307 elsewhere.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.maintenance = maintenance_service
    app.state.scheduler = scheduler
    app.state.engine = catalog.context.store.engine  # type: ignore[attr-defined]
    watch_pool(app.state.engine)
    start_flushing()
    tracing.configure(settings.otlp_endpoint)
    app.state.authenticator = build_authenticator(settings, catalog)
    routers = (
        health.router,
        oauth.router,
        admin.router,
        maintenance.router,
        config.router,
        namespaces.router,
        tables.router,
        views.router,
        transactions.router,
        signer.router,
        metrics.router,
    )
    for router in routers:
        app.include_router(router)
    app.state.endpoints = config.supported_endpoints(routers)
    install_error_handlers(app)
    # Added first, so it runs inside the request context (request id, URL checks, access log).
    engine = app.state.engine
    app.add_middleware(
        TablesFastPath,
        authenticator=app.state.authenticator,
        pointers=TablePointers(engine),
        in_thread=not is_sqlite(engine),
    )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_request_bytes)
    return app
