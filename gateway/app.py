"""The gateway's FastAPI application and the resources it lives with."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import make_asgi_app

from gateway.routes import health, jobs, tasks
from gateway.settings import GatewaySettings
from gateway.state import Gateway
from gateway.store import JobStore
from runtime.broker import Broker


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = JobStore(settings.database_url)
        await store.open()
        broker = Broker(
            settings.amqp_url.get_secret_value(),
            settings.topology,
            name="offload-gateway",
            heartbeat=settings.amqp_heartbeat,
            publish_timeout=settings.publish_timeout,
        )
        gateway = Gateway(settings, store, broker)
        app.state.gateway = gateway
        # The API serves (and /readyz says "not ready") while the broker is away.
        attaching = asyncio.create_task(gateway.attach_broker())
        try:
            yield
        finally:
            attaching.cancel()
            await asyncio.gather(attaching, return_exceptions=True)
            await gateway.close()

    app = FastAPI(
        title="Offload",
        summary="Background work behind a web API: accepted now, done reliably, reported on.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.include_router(tasks.router)
    app.include_router(jobs.router)
    app.include_router(health.router)
    app.mount("/metrics", make_asgi_app())
    return app
