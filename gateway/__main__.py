"""`python -m gateway`: serve the HTTP API with uvicorn; `python -m gateway dlq ...`: the dead-letter CLI.

`python -m gateway migrate` brings the job store at DATABASE_URL to the newest
schema and exits (the gateway does the same when it starts).
"""

import asyncio
import sys

from gateway.server import migrate, serve
from gateway.settings import GatewaySettings
from runtime.ports import PortUnavailable


def main() -> None:
    try:
        serve(GatewaySettings())
    except PortUnavailable as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    if sys.argv[1:] == ["migrate"]:
        sys.exit(asyncio.run(migrate(GatewaySettings())))
    if sys.argv[1:2] == ["dlq"]:
        from gateway import cli

        sys.exit(cli.main(sys.argv[2:]))
    main()
