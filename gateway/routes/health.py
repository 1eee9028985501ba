"""Liveness and readiness, for orchestrators and load balancers."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.routes.deps import GatewayDep

router = APIRouter(tags=["health"])

STORE_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The job store is unreachable: no work can be accepted."}})
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready to accept work. While the broker is away jobs are still accepted (status "degraded")."""
    backlog = await _outbox_backlog(gateway)
    checks = {
        "store": backlog is not None,
        "broker": gateway.broker.is_connected,
        "status_consumer": gateway.status is not None and gateway.status.is_attached,
    }
    if not checks["store"]:
        state, code = "not ready", 503
    else:
        state, code = ("ready" if all(checks.values()) else "degraded"), 200
    return JSONResponse({"status": state, "checks": checks, "outbox": backlog}, status_code=code)


async def _outbox_backlog(gateway: GatewayDep) -> dict[str, Any] | None:
    """Events waiting to be published, or None when the database does not answer."""
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            count, oldest = await gateway.outbox.backlog()
    except Exception:  # any failure to answer means "not ready", whatever its kind
        return None
    return {"pending": count, "oldest": oldest.isoformat() if oldest else None}
