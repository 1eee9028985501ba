"""Browsing a dead-letter queue: its messages taken without acking, and all handed back at the end.

Nothing is consumed by looking: every message a browse took and did not ack
returns to its queue, in order, when the browse ends. While a browse holds
them, the messages are invisible to any other browse.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError

from contracts.topology import GATEWAY, SERVICE_TASKS, Queue, ServiceQueues, Topology
from runtime.broker import Broker

# Whose dead letters there are: every service's, and the gateway's.
SERVICES: tuple[str, ...] = (*SERVICE_TASKS, GATEWAY)

# What the broker (or its connection) raises when it cannot do what was asked.
BROKER_ERRORS = (AMQPError, ConnectionError, ChannelInvalidStateError, TimeoutError)


class UnknownService(LookupError):
    def __init__(self, service: str) -> None:
        super().__init__(f"unknown service {service!r}; known services: {', '.join(SERVICES)}")
        self.service = service

    def __str__(self) -> str:  # LookupError would show the message in quotes
        return str(self.args[0])


class BrokerUnavailable(Exception):
    """The broker could not be reached, or dropped the connection mid-way."""


def consumer_queues(topology: Topology, service: str) -> ServiceQueues:
    """The queues of `service` (a task service or the gateway), whose dead letters are browsed."""
    try:
        return topology.consumer(service)
    except KeyError:
        raise UnknownService(service) from None


def dead_letter_queue(topology: Topology, service: str) -> Queue:
    return consumer_queues(topology, service).dead


class Browse:
    """Messages taken from a queue without acking them; `hand_back()` returns the unsettled ones."""

    def __init__(self, channel: AbstractRobustChannel, queue: AbstractQueue) -> None:
        self.depth = queue.declaration_result.message_count or 0
        self._channel = channel
        self._queue = queue
        self._held: list[AbstractIncomingMessage] = []

    async def take(self) -> AbstractIncomingMessage | None:
        message = await self._queue.get(no_ack=False, fail=False)
        if message is not None:
            self._held.append(message)
        return message

    async def hand_back(self) -> None:
        # Nacked one by one in the order taken, so the queue keeps its order (a
        # closed channel returns them too, but shuffled). If a nack fails, the
        # channel is broken and the broker returns every unacked message itself.
        with contextlib.suppress(*BROKER_ERRORS):
            for message in self._held:
                if not message.processed:
                    await message.nack(requeue=True)
        with contextlib.suppress(*BROKER_ERRORS):
            await self._channel.close()


@contextlib.asynccontextmanager
async def browsing(broker: Broker, spec: Queue) -> AsyncIterator[Browse]:
    """Take messages from `spec`; on exit every message not acked goes back to the queue."""
    try:
        channel: AbstractRobustChannel = await broker.channel(prefetch=1)  # basic.get ignores prefetch
        queue = await channel.declare_queue(spec.name, durable=True, arguments=dict(spec.arguments))
    except BROKER_ERRORS as error:
        raise BrokerUnavailable(f"cannot open {spec.name}: {type(error).__name__}: {error}") from error
    browse = Browse(channel, queue)
    try:
        yield browse
    except BROKER_ERRORS as error:
        raise BrokerUnavailable(f"lost the broker while reading {spec.name}: {error}") from error
    finally:
        await browse.hand_back()
