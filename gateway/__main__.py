"""`python -m gateway`: serve the HTTP API with uvicorn; `python -m gateway dlq ...`: the dead-letter CLI.

`python -m gateway migrate` brings the job store at DATABASE_URL to the newest
schema and exits (the gateway does the same when it starts).
"""

import asyncio
import sys

import uvicorn

from gateway.app import create_app
from gateway.database import gateway_database
from gateway.settings import GatewaySettings
from gateway.timeouts import header_timeout_protocol
from runtime.logs import configure_logging


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=settings.keep_alive_seconds,
        http=header_timeout_protocol(settings.header_timeout_seconds),
        log_config=None,
        access_log=False,
    )


async def migrate() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, settings.log_format)
    database = gateway_database(settings.database_url)
    await database.open()
    await database.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["migrate"]:
        sys.exit(asyncio.run(migrate()))
    if sys.argv[1:2] == ["dlq"]:
        from gateway import cli

        sys.exit(cli.main(sys.argv[2:]))
    main()
