"""Dependencies the routes share."""

from typing import Annotated

from fastapi import Depends, Request

from gateway.state import Gateway


async def _gateway(request: Request) -> Gateway:
    # async: FastAPI runs a plain `def` dependency in a thread, a costly hop per request.
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]
