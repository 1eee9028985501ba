"""The gateway's FastAPI application and the resources it lives with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from gateway.auth import ApiKeyMiddleware, bearer_scheme
from gateway.database import gateway_database
from gateway.errors import install_error_handlers
from gateway.routes import analytics, dead_letters, files, health, jobs, tasks
from gateway.settings import GatewaySettings
from gateway.state import Gateway
from gateway.timeouts import BodyTimeoutMiddleware
from runtime.broker import Broker
from runtime.metrics import metrics_endpoint


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = gateway_database(settings.database_url)
        await db.open()
        broker = Broker.from_settings(settings, "offload-gateway")
        gateway = Gateway(settings, db, broker)
        app.state.gateway = gateway
        # Jobs are accepted into the outbox even while the broker is away.
        gateway.start()
        try:
            yield
        finally:
            await gateway.close()

    # FastAPIOffline serves Swagger UI's and ReDoc's assets from the package
    # (under /static-offline-docs) instead of a CDN: /docs works without internet.
    app = FastAPIOffline(
        title="Offload",
        summary="Background work behind a web API: accepted now, done reliably, reported on.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    install_error_handlers(app)
    keys = settings.api_key_list()
    # The middleware checks the key; the dependency only shows the scheme in OpenAPI.
    documented = [Depends(bearer_scheme)] if keys else []
    for api in (tasks, files, analytics, jobs, dead_letters):
        app.include_router(api.router, dependencies=documented)
    app.include_router(health.router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(BodyTimeoutMiddleware, timeout=settings.body_timeout_seconds, min_rate=settings.body_min_rate)
    if keys:
        app.add_middleware(ApiKeyMiddleware, keys=keys)  # added last: the outermost, before any body is read
    return app
