"""Dependencies the routes share."""

from typing import Annotated

from fastapi import Depends, Request

from gateway.state import Gateway


async def get_gateway(request: Request) -> Gateway:
    """The gateway the app's lifespan built; tests override this dependency with a stand-in."""
    # async: FastAPI runs a plain `def` dependency in a thread, a costly hop per request.
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
