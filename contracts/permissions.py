"""Who may do what on the broker: one broker user per role, and its permissions.

Derived from the topology, so the regexes name exactly the exchanges and queues
a role declares, binds, publishes to or consumes from, in one namespace:

- `gateway`: declares everything, consumes the status queue, browses dead-letter
  queues, publishes task events (its outbox and replays) and replays status events;
- one user per service: declares and consumes its own queues, publishes `job.*`
  status events, its retries and its dead letters;
- `publisher`: a direct publisher, which may only publish `<task>.requested`.

RabbitMQ checks, per vhost: configure to declare a queue or exchange (even one
that exists); write on a queue and read on an exchange to bind them; write on an
exchange to publish; read on a queue to consume or `basic.get`. Declaring a
queue with a dead-letter exchange also needs read on the queue and write on that
exchange (`""`, the default exchange, is checked as `amq.default`). On a topic
exchange, topic permissions also match the routing key of a publish (write) and
the binding key of a bind (read). Every regex here is anchored.

The RabbitMQ `user_id` property is checked against the connection's user, so
the gateway knows which user published a status event: `status_publishers`
says which service each trusted user may report for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contracts.events import STATUS_STEPS, TaskType
from contracts.topology import GATEWAY, SERVICE_TASKS, Queue, Topology

PUBLISHER = "publisher"
ROLES: tuple[str, ...] = (GATEWAY, *SERVICE_TASKS, PUBLISHER)

# The default exchange, as RabbitMQ names it in permission checks. Delay queues
# dead-letter through it back to their work queue, so whoever declares one needs
# write on it.
DEFAULT_EXCHANGE = "amq.default"

# Matches every delay-queue suffix `Topology` can make ("2s", "1500ms"), whatever
# the retry policy, since each process picks its own.
DELAY_SUFFIX = r"\.retry\.[0-9]+m?s"

NOTHING = "^$"


@dataclass(frozen=True)
class Permissions:
    """A user's permissions in a vhost, and its topic permissions on the events exchange."""

    configure: str
    write: str
    read: str
    topic_exchange: str
    topic_write: str
    topic_read: str


def user_name(namespace: str, role: str) -> str:
    """The broker user of `role` in `namespace`, e.g. `offload-email`."""
    if role not in ROLES:
        raise KeyError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    return f"{namespace}-{role}"


def role_permissions(topology: Topology) -> dict[str, Permissions]:
    """Each role's permissions in the topology's namespace."""
    roles = {GATEWAY: _gateway(topology), PUBLISHER: _publisher(topology)}
    for service in SERVICE_TASKS:
        roles[service] = _service(topology, service)
    return {role: roles[role] for role in ROLES}


def status_publishers(namespace: str) -> dict[str, frozenset[str]]:
    """The users the gateway believes status events from, and the services each reports for."""
    return {user_name(namespace, service): frozenset({service}) for service in SERVICE_TASKS}


def task_routing_keys(topology: Topology) -> tuple[str, ...]:
    return tuple(topology.routing_key(task) for task in TaskType)


def status_routing_keys() -> tuple[str, ...]:
    return tuple(event.routing_key for event in STATUS_STEPS)


def _gateway(topology: Topology) -> Permissions:
    every = [queue.name for queue in topology.every_queue()]
    status_queue = topology.gateway().work.name
    delays = _exact(status_queue) + DELAY_SUFFIX
    exchanges = [exchange.name for exchange in topology.exchanges()]
    # A bind checks its binding key: the gateway binds every work queue, its own
    # by a literal `job.*`.
    bindings = [queue.bindings[0].routing_key for queue in (topology.gateway().work, *_service_work(topology))]
    return Permissions(
        configure=_one_of([*exchanges, *every], patterns=[delays]),
        write=_one_of([*exchanges, DEFAULT_EXCHANGE, *every], patterns=[delays]),
        read=_one_of([*exchanges, *every], patterns=[delays]),
        topic_exchange=topology.events.name,
        # Task events from the outbox and from replays; status events when it
        # replays its own dead letters.
        topic_write=_one_of([*task_routing_keys(topology), *status_routing_keys()]),
        topic_read=_one_of(bindings),
    )


def _service_work(topology: Topology) -> list[Queue]:
    return [topology.service(service).work for service in SERVICE_TASKS]


def _service(topology: Topology, service: str) -> Permissions:
    queues = topology.service(service)
    work, dead = queues.work.name, queues.dead.name
    delays = _exact(work) + DELAY_SUFFIX
    exchanges = [exchange.name for exchange in topology.exchanges()]
    return Permissions(
        configure=_one_of([*exchanges, work, dead], patterns=[delays]),
        write=_one_of([*exchanges, DEFAULT_EXCHANGE, work, dead], patterns=[delays]),
        # Its dead-letter queue is declared and bound, never read.
        read=_one_of([*exchanges, work], patterns=[delays]),
        topic_exchange=topology.events.name,
        topic_write=_one_of(status_routing_keys()),
        topic_read=_one_of([topology.routing_key(SERVICE_TASKS[service])]),
    )


def _publisher(topology: Topology) -> Permissions:
    return Permissions(
        configure=NOTHING,
        write=_one_of([topology.events.name]),
        read=NOTHING,
        topic_exchange=topology.events.name,
        topic_write=_one_of(task_routing_keys(topology)),
        topic_read=NOTHING,
    )


def _exact(name: str) -> str:
    # re.escape also escapes "-", which RabbitMQ's regex engine (PCRE) accepts.
    return re.escape(name)


def _one_of(names: Iterable[str], patterns: Iterable[str] = ()) -> str:
    """An anchored regex matching exactly `names` (literally) and `patterns`."""
    alternatives = [_exact(name) for name in names] + list(patterns)
    return "^(" + "|".join(alternatives) + ")$"


def as_table(topology: Topology) -> Mapping[str, Permissions]:
    """Role user name -> permissions, for tools that create the users."""
    return {user_name(topology.namespace, role): perms for role, perms in role_permissions(topology).items()}
