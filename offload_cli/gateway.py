"""`offload gateway` serves the HTTP API; `offload migrate` brings its job store to the newest schema.

`python -m gateway` (the Dockerfile's, compose's and the Procfile's way to
start it) runs the same code: see `standalone`.
"""

from __future__ import annotations

import asyncio

import typer

from offload_cli import dlq
from offload_cli.command import fail, requires


def run_gateway() -> None:
    """Serve the HTTP API until SIGTERM or SIGINT; settings come from the environment (PORT, AMQP_URL, ...)."""
    with requires("gateway"):
        from gateway.server import serve
        from gateway.settings import GatewaySettings
        from runtime.ports import PortUnavailable
    try:
        serve(GatewaySettings())
    except PortUnavailable as error:
        fail(str(error))


def migrate() -> None:
    """Bring the job store at DATABASE_URL to the newest schema, keeping its rows, and exit.

    The gateway does the same when it starts; this is for a deployment that migrates before it rolls out.
    """
    with requires("gateway"):
        from gateway.server import migrate as migrate_store
        from gateway.settings import GatewaySettings
    asyncio.run(migrate_store(GatewaySettings()))


def standalone() -> typer.Typer:
    """`python -m gateway`: the gateway, and, as before the `offload` command, `migrate` and `dlq`."""
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback(invoke_without_command=True)
    def gateway(context: typer.Context) -> None:
        """Serve the HTTP API (as `offload gateway`), or run one of the commands below."""
        if context.invoked_subcommand is None:
            run_gateway()

    app.command()(migrate)
    app.add_typer(dlq.app, name="dlq")
    return app
