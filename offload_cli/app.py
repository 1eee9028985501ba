"""The `offload` command: its groups, each from a module of its own."""

from __future__ import annotations

import typer

from offload_cli import broker_users, dlq, gateway, jobs, services, teardown

app = typer.Typer(
    help="Offload: background work behind a web API, as services on RabbitMQ.",
    no_args_is_help=True,
    # Plain tracebacks: typer's pretty ones print local variables, settings and secrets included.
    pretty_exceptions_enable=False,
)
app.command("gateway")(gateway.run_gateway)
app.add_typer(services.app, name="service")
app.command()(gateway.migrate)
app.add_typer(dlq.app, name="dlq")
app.add_typer(jobs.app, name="jobs")
app.command()(teardown.teardown)
app.add_typer(broker_users.app, name="broker-users")
