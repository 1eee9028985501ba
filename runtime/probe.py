"""A small HTTP server beside each consumer: /healthz, /readyz and /metrics.

Orchestrators poll /readyz; it fails when the broker connection is down or the
consumer is no longer subscribed, which is the "alive but consuming nothing"
state a process check alone would miss. A service of several worker processes
has one such server, in its supervisor, answering for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.metrics import metrics_endpoint

# What /readyz reports: each check by name, ready when all are true.
Checks = Callable[[], dict[str, bool]]


def probe_app(
    service: str, checks: Checks, metrics: Callable[[Request], Awaitable[Response]] = metrics_endpoint
) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": service})

    async def readyz(_: Request) -> JSONResponse:
        results = checks()
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": service, "checks": results},
            status_code=200 if ready else 503,
        )

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


class ProbeServer(uvicorn.Server):
    """uvicorn, minus its signal handling: the service decides when to stop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        super().__init__(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off"))

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @contextlib.asynccontextmanager
    async def serving(self, listener: socket.socket) -> AsyncIterator[None]:
        """Serve on `listener` (bound beforehand, see `runtime.ports`) until the block ends."""
        task = asyncio.create_task(self.serve(sockets=[listener]))
        try:
            yield
        finally:
            self.should_exit = True
            await task
