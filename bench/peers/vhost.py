"""A RabbitMQ vhost of the run's own for the peers, deleted afterwards with all it holds.

The libraries declare more than their work queue, under names they choose
(Celery's delayed-delivery exchanges and queues, taskiq's dead-letter queue):
in a vhost of their own they cannot meet anyone else's objects, and deleting
the vhost removes them all. Like `devtools.broker_users`, it needs
`rabbitmqctl` for the broker (or RABBITMQCTL, which devtools/broker-env.sh
sets when the broker runs in a container).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

from runtime.broker import user_in


def _rabbitmqctl(arguments: list[str], stdin: str | None = None) -> None:
    command = [*shlex.split(os.environ.get("RABBITMQCTL", "rabbitmqctl")), "-q", *arguments]
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as error:
        raise RuntimeError("the peers need rabbitmqctl to create a vhost of their own") from error
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {arguments[0]}: {(done.stderr or done.stdout).strip()}")


def in_vhost(amqp_url: str, vhost: str) -> str:
    """`amqp_url` with its vhost replaced."""
    parts = urlsplit(amqp_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, ""))


@contextlib.contextmanager
def own_vhost(amqp_url: str, vhost: str) -> Iterator[str]:
    """A new vhost that the user of `amqp_url` may use fully; yields the URL to reach it."""
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    definitions = {
        "vhosts": [{"name": vhost}],
        "permissions": [{"user": user_in(amqp_url), "vhost": vhost, **everything}],
    }
    # One import for both (each rabbitmqctl call boots an Erlang VM, about a second).
    _rabbitmqctl(["import_definitions", "--format", "json"], stdin=json.dumps(definitions))
    try:
        yield in_vhost(amqp_url, vhost)
    finally:
        _rabbitmqctl(["delete_vhost", vhost])
