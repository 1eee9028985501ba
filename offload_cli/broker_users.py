"""`offload broker-users create|delete|env|definitions`: a broker user per role (devtools.broker_users)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offload_cli.command import group

app = group("Development broker users, one per role, from contracts/permissions.py (see devtools/broker_users.py).")

Namespace = Annotated[str, typer.Option(envvar="OFFLOAD_NAMESPACE", help="Whose users: <namespace>-<role>.")]
Vhost = Annotated[str | None, typer.Option(help="Default: AMQP_URL's vhost, else /.")]


def _run(*arguments: str) -> None:
    # The devtools module is the one implementation; its own argv is what this wraps.
    from devtools import broker_users

    raise typer.Exit(broker_users.main(list(arguments)))


@app.command()
def create(namespace: Namespace = "offload", vhost: Vhost = None) -> None:
    """Add (or reset) every role's user and permissions on the local broker, with rabbitmqctl."""
    _run("create", "--namespace", namespace, *(["--vhost", vhost] if vhost else []))


@app.command()
def delete(namespace: Namespace = "offload") -> None:
    """Delete every role's user from the local broker, with rabbitmqctl."""
    _run("delete", "--namespace", namespace)


@app.command()
def env(namespace: Namespace = "offload") -> None:
    """Print `export <ROLE>_AMQP_URL=...` for each role, built from AMQP_URL's host, port and vhost."""
    _run("env", "--namespace", namespace)


@app.command()
def definitions(
    path: Annotated[Path | None, typer.Argument(help="Where to write it; default: rabbitmq/definitions.json.")] = None,
    namespace: Namespace = "offload",
) -> None:
    """Write the users, with hashed passwords, as a RabbitMQ definitions file (compose loads one)."""
    _run("definitions", *([str(path)] if path else []), "--namespace", namespace)
