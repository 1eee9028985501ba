"""Watching what the system publishes, without taking it from anyone.

A watcher binds its own exclusive queue next to the real ones, so it sees a
copy of every matching message (status events, dead letters) and lets a test
wait for the one it expects, with a timeout instead of a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import TypeAdapter

from contracts.events import JobStatusEvent, StatusEvent, TaskEvent
from contracts.topology import Topology
from runtime.broker import Broker
from support.topology import TEST_RETRY

T = TypeVar("T")


class Watcher(Generic[T]):
    def __init__(self, parse: Callable[[AbstractIncomingMessage], T]) -> None:
        self.seen: list[T] = []
        self._parse = parse
        self._changed = asyncio.Condition()

    @classmethod
    async def bind(
        cls,
        connection: AbstractRobustConnection,
        exchange: str,
        routing_key: str,
        parse: Callable[[AbstractIncomingMessage], T],
    ) -> Watcher[T]:
        watcher = cls(parse)
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key)
        await queue.consume(watcher._on_message, no_ack=True)
        return watcher

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with self._changed:
            self.seen.append(self._parse(message))
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[T], bool], timeout: float = 15.0) -> T:
        """The first message, seen or still to come, that satisfies `predicate`."""

        def found() -> T | None:
            return next((item for item in self.seen if predicate(item)), None)

        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
        result = found()
        assert result is not None
        return result

    async def wait_for_count(self, predicate: Callable[[T], bool], count: int, timeout: float = 15.0) -> list[T]:
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: sum(map(predicate, self.seen)) >= count)
        return [item for item in self.seen if predicate(item)]


_status = TypeAdapter(JobStatusEvent)


async def watch_status(connection: AbstractRobustConnection, topology: Topology) -> Watcher[StatusEvent]:
    """Every job status event published in this topology."""
    await _ensure_exchanges(connection, topology)
    return await Watcher.bind(connection, topology.events.name, "job.*", lambda m: _status.validate_json(m.body))


async def watch_dead_letters(
    connection: AbstractRobustConnection, topology: Topology, service: str
) -> Watcher[AbstractIncomingMessage]:
    """A copy of every message dead-lettered by `service`."""
    await _ensure_exchanges(connection, topology)
    return await Watcher.bind(connection, topology.dead_letters.name, service, lambda m: m)


async def _ensure_exchanges(connection: AbstractRobustConnection, topology: Topology) -> None:
    async with connection.channel() as channel:
        for exchange in topology.exchanges():
            await channel.declare_exchange(exchange.name, exchange.type, durable=True)


async def queue_depth(connection: AbstractRobustConnection, name: str) -> int:
    async with connection.channel() as channel:
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0


async def consumer_count(connection: AbstractRobustConnection, name: str) -> int:
    """Consumers the broker knows on queue `name`: one per process attached to it."""
    async with connection.channel() as channel:
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.consumer_count or 0


async def wait_for_depth(connection: AbstractRobustConnection, name: str, depth: int, timeout: float = 10) -> None:
    """Quorum queues settle acks and requeues a moment after the client sends them."""
    async with asyncio.timeout(timeout):
        while await queue_depth(connection, name) != depth:
            await asyncio.sleep(0.05)


def status_of(job_id: Any, kind: str) -> Callable[[StatusEvent], bool]:
    return lambda event: event.job_id == job_id and event.type == kind


async def publish_events(amqp_url: str, topology: Topology, service: str, events: Sequence[TaskEvent]) -> None:
    """Publish `service`'s task events as a direct publisher would, each confirmed by the broker."""
    broker = Broker(amqp_url, topology, name="test-publisher")
    await broker.connect()
    try:
        await broker.declare(topology.service(service, TEST_RETRY).all())
        await asyncio.gather(*(broker.publish(event) for event in events))
    finally:
        await broker.close()


async def publish_raw(
    connection: AbstractRobustConnection,
    exchange: str,
    routing_key: str,
    body: bytes,
    **properties: Any,
) -> None:
    """Publish bytes as any client could, confirmed, for poison-message tests."""
    async with connection.channel() as channel:
        target = await channel.get_exchange(exchange)
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties)
        await target.publish(message, routing_key)
