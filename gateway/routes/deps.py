"""Dependencies the routes share."""

from typing import Annotated

from fastapi import Depends, Request

from gateway.state import Gateway


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]
