"""Staying subscribed: a consumer's channel, its place on the queue, and a watchdog.

aio-pika restores channels and consumers after a reconnect. The watchdog
checks the broker's side as well, so that readiness tells the truth, and
subscribes again if a consumer was dropped while the connection stayed up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustQueue

from contracts.topology import Queue
from runtime.broker import Broker
from runtime.metrics import CONSUMER_ATTACHED

log = structlog.get_logger("offload.consumer")

# How often the watchdog checks that the broker still delivers to us.
WATCHDOG_INTERVAL = 2.0

# How long stopping waits for the broker to acknowledge a goodbye.
BROKER_GOODBYE_TIMEOUT = 3.0


class Subscription:
    def __init__(
        self,
        broker: Broker,
        queue: Queue,
        service: str,
        prefetch: int,
        on_message: Callable[[AbstractIncomingMessage], Awaitable[None]],
    ) -> None:
        self._broker = broker
        self._spec = queue
        self._service = service
        self._prefetch = prefetch
        self._on_message = on_message
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractRobustQueue | None = None
        self._consumer_tag: str | None = None
        self._subscribed = False
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def is_attached(self) -> bool:
        """True while the broker knows this consumer (as of the watchdog's last look)."""
        return self._subscribed and self._broker.is_connected

    async def start(self) -> None:
        self._channel = await self._broker.channel(self._prefetch)
        await self._subscribe()
        self._watchdog = asyncio.create_task(self._watch())

    async def cancel(self) -> None:
        """Stop deliveries; messages already delivered stay ours to settle."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        if self._queue is not None and self._consumer_tag is not None:
            # With the broker away there is nothing to cancel: its side of the
            # consumer went with the connection, so don't wait for an answer.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(BROKER_GOODBYE_TIMEOUT):
                    await self._queue.cancel(self._consumer_tag)
        self._consumer_tag = None
        self._subscribed = False
        CONSUMER_ATTACHED.labels(self._service).set(0)

    async def close(self) -> None:
        """Close the channel; the broker requeues whatever is still unacked on it."""
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(BROKER_GOODBYE_TIMEOUT):
                    await self._channel.close()

    async def _subscribe(self) -> None:
        assert self._channel is not None
        # Declared on this channel so that aio-pika restores the consumer with it
        # after a reconnect, and declared again here in case it was deleted.
        self._queue = await self._channel.declare_queue(
            self._spec.name, durable=True, arguments=dict(self._spec.arguments)
        )
        self._consumer_tag = await self._queue.consume(self._on_message)
        self._subscribed = True
        CONSUMER_ATTACHED.labels(self._service).set(1)
        log.info("consuming", service=self._service, queue=self._spec.name, prefetch=self._prefetch)

    async def _watch(self) -> None:
        """Keep `is_attached` true to the broker, and subscribe again if the broker
        dropped the consumer while the connection stayed up (a deleted queue, an
        operator's cancel). aio-pika 10.2 recovers from a broker's cancel itself;
        earlier versions did not (aio-pika #334), so this stays as the fallback."""
        missing = 0
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL)
            self._subscribed = await self._broker_knows_us()
            CONSUMER_ATTACHED.labels(self._service).set(int(self.is_attached))
            missing = missing + 1 if self._broker.is_connected and not self._subscribed else 0
            # Only when it persists, so that a recovery aio-pika is running is left to it.
            if missing >= 3:
                log.warning("consumer lost while connected; subscribing again", service=self._service)
                try:
                    await self._resubscribe()
                except Exception as error:  # try again next round; /readyz shows the state meanwhile
                    log.error("re-subscribing failed", service=self._service, error=repr(error))

    async def _broker_knows_us(self) -> bool:
        if self._consumer_tag is None or self._channel is None or not self._broker.is_connected:
            return False
        try:
            # The live AMQP channel (replaced on reconnect) lists the consumers it delivers to.
            channel = await self._channel.get_underlay_channel()
        except Exception:  # mid-reconnect: there is no channel yet
            return False
        return self._consumer_tag in channel.consumers

    async def _resubscribe(self) -> None:
        if self._queue is not None and self._consumer_tag is not None:
            # Forget the dead consumer, so a later reconnect does not restore it too.
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)
        await self._subscribe()
