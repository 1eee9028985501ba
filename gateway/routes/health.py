"""Liveness and readiness, for orchestrators and load balancers."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.routes.deps import GatewayDep

router = APIRouter(tags=["health"])

STORE_PING_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down; see `checks`."}})
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready to accept work: broker connected, status consumer attached, job store reachable."""
    checks = {
        "broker": gateway.broker.is_connected,
        "status_consumer": gateway.status is not None and gateway.status.is_attached,
        "store": await _store_answers(gateway),
    }
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _store_answers(gateway: GatewayDep) -> bool:
    try:
        async with asyncio.timeout(STORE_PING_TIMEOUT):
            await gateway.store.ping()
    except Exception:  # any failure to answer means "not ready", whatever its kind
        return False
    return True
