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
    console,
    events,
    functions,
    governance,
    health,
    maintenance,
    metrics,
    namespaces,
    oauth,
    planning,
    search,
    signer,
    tables,
    transactions,
    views,
)
from catalog.api.answers import AnswerCache
from catalog.api.commit_fast import CommitFastPath
from catalog.api.config_fast import ConfigFastPath
from catalog.api.errors import install_error_handlers
from catalog.api.fast import FastPaths, WarehouseRecords
from catalog.api.front import CatalogApp
from catalog.api.listing_fast import ListingFastPath
from catalog.api.middleware import RequestContextMiddleware
from catalog.api.security import Authenticator
from catalog.api.tables_fast import TablesFastPath
from catalog.auth.access_tokens import AccessTokenIssuer, load_or_create_signing_key
from catalog.auth.oidc import OidcVerifier, parse_role_map
from catalog.console import routes as console_ui
from catalog.embedded_store import EmbeddedStore
from catalog.events.dispatcher import Delivering, Dispatcher
from catalog.events.sinks import NatsSink, Sink, WebhookSink
from catalog.maintenance.control import MaintenanceService
from catalog.maintenance.scheduler import Scheduler
from catalog.observability import tracing
from catalog.observability.metrics import start_flushing, watch_pool
from catalog.planning.cache import ManifestCache
from catalog.planning.plans import Planner, PlanningLimits
from catalog.planning.tokens import TokenSigner
from catalog.profile_secrets import ProfileSecrets
from catalog.service.catalog import CatalogService
from catalog.service.context import Limits, ServiceContext, StorageResolver
from catalog.service.upload_slots import SlotSeal
from catalog.service.uploads import UploadService
from catalog.settings import Settings
from catalog.store.database import create_catalog_engine, is_sqlite, scrub_sqlite
from catalog.store.listings import Listings
from catalog.store.loop_reads import LoopReads
from catalog.store.migrate import upgrade
from catalog.store.outbox import Outbox
from catalog.store.pointers import PreparedReads, TablePointers
from catalog.store.repository import SqlCatalogStore
from catalog.vending.r2 import R2Defaults, R2Profiles
from catalog.vending.registry import VendorRegistry, cloud_factories
from catalog.vending.sts import check_sts_profile
from storage.io import object_store_for

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
        trash_retention=timedelta(seconds=settings.trash_retention_seconds),
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
    storage = StorageResolver(
        resolve, prepare, secrets, embedded.open if embedded else object_store_for
    )
    vendors = VendorRegistry(embedded, cloud_factories(r2))
    context = ServiceContext(SqlCatalogStore(engine, settings.base_url), storage, limits, vendors)
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


def build_authenticator(settings: Settings, catalog: CatalogService, key: bytes) -> Authenticator:
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


def build_uploads(settings: Settings, catalog: CatalogService, key: bytes) -> UploadService:
    """Upload ids are sealed with a key derived from the access-token signing key, which
    every worker of `serve --workers N` shares."""
    return UploadService(
        catalog.context,
        catalog.tables,
        SlotSeal(key),
        settings.upload_expiry,
        settings.upload_max_bytes,
    )


def build_dispatcher(settings: Settings, catalog: CatalogService, outbox: Outbox) -> Dispatcher:
    """The change-event dispatcher with the sinks the settings name (docs/events.md)."""
    sinks: list[Sink] = [
        WebhookSink(
            hook.name, hook.url, hook.secret.get_secret_value().encode(), hook.timeout_seconds
        )
        for hook in settings.event_webhooks
    ]
    if settings.event_nats_url:
        sinks.append(NatsSink(settings.event_nats_url, settings.event_nats_subject))
    policy = Delivering(
        poll_interval=timedelta(seconds=settings.event_poll_seconds),
        lease_ttl=timedelta(seconds=settings.event_lease_seconds),
        max_attempts=settings.event_max_attempts,
        first_retry=timedelta(seconds=settings.event_retry_seconds),
        max_retry=timedelta(seconds=settings.event_retry_max_seconds),
        retention=timedelta(seconds=settings.event_retention_seconds)
        if settings.event_retention_seconds
        else None,
    )
    return Dispatcher(catalog.context.store, outbox, sinks, policy)


def build_planner(settings: Settings, catalog: CatalogService, key: bytes) -> Planner:
    """Plan tokens are signed under the key every worker shares (the access token key)."""
    lifetime = int(settings.planning_token_lifetime.total_seconds())
    limits = PlanningLimits(
        settings.planning_submit_manifests,
        settings.planning_task_manifests,
        settings.planning_read_threads,
    )
    cache = ManifestCache(settings.planning_cache_bytes)
    return Planner(catalog.context, catalog.tables, cache, TokenSigner(key, lifetime), limits)


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

    outbox = Outbox(catalog.context.store.engine)  # type: ignore[attr-defined]
    dispatcher = build_dispatcher(settings, catalog, outbox)

    fast_reads: list[PreparedReads] = []  # the fast paths' connections, closed at shutdown

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        dispatcher.start()
        yield
        await run_in_threadpool(dispatcher.stop)
        if scheduler is not None:
            await run_in_threadpool(scheduler.stop)
        for reads in fast_reads:
            reads.close()
        catalog.context.store.engine.dispose()  # type: ignore[attr-defined]

    app = CatalogApp(
        title="icefloe",
        version=__version__,
        summary="Apache Iceberg REST catalog",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
        # No spec path ends in "/": such a path is an unknown route (404), not a 307 elsewhere.
        redirect_slashes=False,
        # The catalog traces requests itself (`observability.tracing`, in the request context
        # middleware); FastAPI's own instrumentation would otherwise look the global OpenTelemetry
        # providers up on every request to find them unconfigured (~10 µs each).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.maintenance = maintenance_service
    app.state.scheduler = scheduler
    app.state.outbox = outbox
    app.state.dispatcher = dispatcher
    app.state.engine = catalog.context.store.engine  # type: ignore[attr-defined]
    watch_pool(app.state.engine)
    start_flushing()
    tracing.configure(settings.otlp_endpoint)
    # One key every worker shares: access tokens, and (each under its own label) upload slots
    # and plan tokens.
    signing_key = load_or_create_signing_key(settings.data_dir, settings.jwt_signing_key)
    app.state.authenticator = build_authenticator(settings, catalog, signing_key)
    app.state.uploads = build_uploads(settings, catalog, signing_key)
    app.state.planner = build_planner(settings, catalog, signing_key)
    routers = (
        health.router,
        oauth.router,
        admin.router,
        search.router,
        maintenance.router,
        governance.router,
        console.router,
        events.router,
        config.router,
        namespaces.router,
        tables.router,
        planning.router,
        views.router,
        functions.router,
        functions.admin_router,
        transactions.router,
        signer.router,
        metrics.router,
    )
    for router in routers:
        app.include_router(router)
    app.state.endpoints = config.supported_endpoints(routers)
    console_ui.install(app, settings)  # after the API: its paths match first
    install_error_handlers(app)
    # The fast paths are answered from inside the request context (request id, URL checks,
    # access log): one ASGI layer in front of FastAPI, which looks at a request's method and
    # path once to find the one fast answerer that may take it.
    engine = app.state.engine
    in_thread = not is_sqlite(engine)
    app.state.authenticate_on_loop = not in_thread  # `security.current_principal`
    warehouses = WarehouseRecords(catalog.warehouses.get)
    loop_reads = None if is_sqlite(engine) else LoopReads(engine.url)
    listings = Listings(engine, on_loop=loop_reads)
    pointers = TablePointers(engine, on_loop=loop_reads)
    fast_reads.extend((listings, pointers))
    app.state.fast_reads = fast_reads
    fast = FastPaths(
        tables=TablesFastPath(
            authenticator=app.state.authenticator,
            pointers=pointers,
            tables=catalog.tables,
            warehouses=warehouses,
            in_thread=in_thread,
        ),
        listing=ListingFastPath(
            authenticator=app.state.authenticator,
            listings=listings,
            limits=catalog.context.limits,
            in_thread=in_thread,
        ),
        config=ConfigFastPath(
            authenticator=app.state.authenticator,
            listings=listings,
            catalog=catalog,
            warehouses=warehouses,
            default_warehouse=settings.default_warehouse,
            endpoints=app.state.endpoints,
            in_thread=in_thread,
        ),
        commit=CommitFastPath(authenticator=app.state.authenticator, tables=catalog.tables),
        # On SQLite, whole answers kept while the database and the caller's token are unchanged.
        answers=None
        if pointers.remembered is None
        else AnswerCache(pointers.remembered, app.state.authenticator, catalog.tokens),
    )
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_request_bytes, fast=fast
    )
    return app
