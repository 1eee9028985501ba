"""One connection to RabbitMQ per process: declare the topology, publish with confirms.

The connection is robust: after a broker restart or a cut link, aio-pika
reconnects and restores channels, queues, bindings and consumers. Every
publish waits for the broker's confirm, bounded by `publish_timeout`, so a
publish during an outage fails fast instead of hanging.

Every message carries the connection's user name in its `user_id` property.
RabbitMQ refuses a publish whose `user_id` is not the authenticated user, so a
consumer can trust it to say who published (see contracts/permissions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
)

from contracts import headers
from contracts.events import Envelope
from contracts.headers import CONTENT_TYPE
from contracts.topology import Exchange, Queue, Topology
from runtime.settings import BrokerSettings

log = structlog.get_logger("offload.broker")

RECONNECT_INTERVAL = 1.0

# aio-pika's login when the URL names none.
DEFAULT_USER = "guest"


class PublishError(Exception):
    """The broker did not confirm a publish in time (down, blocked, or it refused it)."""


class Broker:
    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        name: str,
        heartbeat: int = 15,
        publish_timeout: float = 5.0,
    ) -> None:
        self.topology = topology
        self._url = url
        self.user = user_in(url)
        self._name = name
        self._heartbeat = heartbeat
        self._publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url,
            heartbeat=self._heartbeat,
            # aio-pika waits 5 s between attempts by default; a broker back
            # from a restart should have its consumers back within a second.
            reconnect_interval=RECONNECT_INTERVAL,
            client_properties={"connection_name": self._name},
        )
        # Unroutable publishes raise instead of vanishing: a task event that
        # reaches no queue is a failure the caller must hear about.
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)

    @classmethod
    def from_settings(cls, settings: BrokerSettings, name: str) -> Broker:
        """The broker as a process's settings describe it; `name` shows in RabbitMQ's connection list."""
        return cls(
            settings.amqp_url.get_secret_value(),
            settings.topology,
            name=name,
            heartbeat=settings.amqp_heartbeat,
            publish_timeout=settings.publish_timeout,
        )

    async def connect_when_available(self, stop: asyncio.Event, retry_every: float = 2.0) -> bool:
        """Connect, waiting for a broker that is still booting; False if `stop` is set first."""
        while not stop.is_set():
            try:
                await self.connect()
                return True
            except (OSError, ConnectionError) as error:
                log.warning("broker not reachable yet", error=str(error), retry_in_s=retry_every)
            try:
                await asyncio.wait_for(stop.wait(), retry_every)
            except TimeoutError:
                pass
        return False

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("Broker.connect() was not awaited")
        return self._connection

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and self._connection.connected.is_set()

    async def declare(self, queues: Iterable[Queue]) -> dict[str, AbstractRobustQueue]:
        """Declare every exchange of the topology and the given queues with their bindings."""
        channel = self._require_channel()
        for exchange in self.topology.exchanges():
            self._exchanges[exchange.name] = await self._declare_exchange(channel, exchange)
        declared = {}
        for spec in queues:
            queue = await channel.declare_queue(spec.name, durable=True, arguments=dict(spec.arguments))
            for binding in spec.bindings:
                await queue.bind(binding.exchange, binding.routing_key)
            declared[spec.name] = queue
        return declared

    async def channel(self, prefetch: int) -> AbstractRobustChannel:
        """A fresh channel for consuming, with its own prefetch window."""
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def publish(self, event: Envelope, *, mandatory: bool = True) -> None:
        """Publish a contract message on the events exchange, persistent, routed by its `type`.

        `mandatory` makes an unroutable message an error; status events are
        published without it, since nobody may be listening to them.
        """
        await self.publish_body(
            event.__pydantic_serializer__.to_json(event),
            exchange=self.topology.events.name,
            routing_key=event.routing_key,
            message_id=str(event.message_id),
            message_type=event.routing_key,
            mandatory=mandatory,
        )

    async def publish_body(
        self,
        body: bytes,
        *,
        exchange: str,
        routing_key: str,
        message_id: str | None = None,
        message_type: str | None = None,
        content_type: str | None = CONTENT_TYPE,
        headers: Mapping[str, Any] | None = None,
        mandatory: bool = True,
    ) -> None:
        message = aio_pika.Message(
            body,
            content_type=content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            type=message_type,
            headers=dict(headers or {}),
            user_id=self.user,
        )
        target = self._exchange(exchange)
        try:
            # aio-pika's own timeout does not cover waiting for a reconnect, so
            # the whole publish is bounded here.
            async with asyncio.timeout(self._publish_timeout):
                await target.publish(message, routing_key, mandatory=mandatory)
        except TimeoutError as error:
            raise PublishError(f"no confirm from the broker within {self._publish_timeout:g}s") from error
        except Exception as error:  # nack, return, closed channel: all mean "not published"
            raise PublishError(f"{type(error).__name__}: {error}") from error

    def publisher_of(self, message: AbstractIncomingMessage) -> str | None:
        """The broker user who published `message` in the first place.

        RabbitMQ vouches for `user_id`. When it is this process's own user, the
        message is one this process passed on (a retry, a dead letter, a replay),
        and the original publisher is in the header it set when doing so.
        """
        if message.user_id == self.user and headers.PUBLISHED_BY in (message.headers or {}):
            original = message.headers[headers.PUBLISHED_BY]
            name = original.decode(errors="replace") if isinstance(original, bytes) else str(original)
            return name or None
        return message.user_id

    async def close(self) -> None:
        """Close the connection; with the broker unreachable, give up after a few seconds."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    await self._connection.close()

    def _require_channel(self) -> AbstractRobustChannel:
        if self._channel is None:
            raise RuntimeError("Broker.connect() was not awaited")
        return self._channel

    def _exchange(self, name: str) -> AbstractExchange:
        if name == "":
            return self._require_channel().default_exchange
        if name not in self._exchanges:
            raise RuntimeError(f"exchange {name!r} was not declared by this process")
        return self._exchanges[name]

    @staticmethod
    async def _declare_exchange(channel: AbstractRobustChannel, exchange: Exchange) -> AbstractExchange:
        return await channel.declare_exchange(exchange.name, exchange.type, durable=True)


def user_in(url: str) -> str:
    """The user name an AMQP URL logs in with."""
    name = urlsplit(url).username
    return unquote(name) if name else DEFAULT_USER
