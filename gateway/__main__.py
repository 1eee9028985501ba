"""`python -m gateway`: serve the HTTP API with uvicorn; `python -m gateway dlq ...`: the dead-letter CLI."""

import sys

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings
from runtime.logs import configure_logging


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=settings.keep_alive_seconds,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["dlq"]:
        from gateway import cli

        sys.exit(cli.main(sys.argv[2:]))
    main()
