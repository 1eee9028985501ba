"""A small HTTP server beside each consumer: /healthz, /readyz and /metrics.

Orchestrators poll /readyz; it fails when the broker connection is down or the
consumer is no longer subscribed, which is the "alive but consuming nothing"
state a process check alone would miss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from runtime.metrics import metrics_endpoint


def probe_app(service: str, checks: Callable[[], dict[str, bool]]) -> Starlette:
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
            Route("/metrics", metrics_endpoint),
        ]
    )


class ProbeServer(uvicorn.Server):
    """uvicorn, minus its signal handling: the service decides when to stop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        super().__init__(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off"))

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
