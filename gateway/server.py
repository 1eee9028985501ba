"""Serving the gateway: its port first, then the app with uvicorn.

The port is taken before uvicorn starts the app. uvicorn itself binds after
the app's lifespan has started the gateway's background work, and on a port in
use it then had to cancel a broker connection half made; aio-pika's robust
connection ignores such a cancel and keeps reconnecting, so the process logged
`address already in use` and never exited. Now nothing has started yet.
"""

from __future__ import annotations

import structlog
import uvicorn

from gateway.app import create_app
from gateway.database import gateway_database
from gateway.settings import GatewaySettings
from gateway.timeouts import header_timeout_protocol
from runtime.logs import configure_logging
from runtime.ports import listen

log = structlog.get_logger("offload.gateway")


def serve(settings: GatewaySettings) -> None:
    """Serve the HTTP API until SIGTERM or SIGINT; `PortUnavailable` if PORT is taken."""
    configure_logging(settings.log_level, settings.log_format)
    listener = listen(settings.host, settings.port, "PORT")
    config = uvicorn.Config(
        create_app(settings),
        timeout_keep_alive=settings.keep_alive_seconds,
        http=header_timeout_protocol(settings.header_timeout_seconds),
        log_config=None,
        access_log=False,
    )
    log.info("gateway listening", host=settings.host, port=settings.port)
    uvicorn.Server(config).run(sockets=[listener])


async def migrate(settings: GatewaySettings) -> None:
    """Bring the job store at DATABASE_URL to the newest schema (opening it does that) and close it."""
    configure_logging(settings.log_level, settings.log_format)
    database = gateway_database(settings.database_url)
    await database.open()
    await database.close()
