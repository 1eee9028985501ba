"""Raw aio-pika peer: a plain consumer that acks and counts, in one process; the floor of the table.

    python -m bench.peers.aio_pika_app consume          # what the bench runs (until SIGTERM)
    python -m bench.peers.aio_pika_app prefill 20000    # queue the jobs, persistent, with confirms

No validation, no status, no framework: `async with message.process()`
around the count, on a quorum queue at the bench's prefetch, on uvloop as
Offload's runtime is.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aio_pika
import uvloop

from bench.peers.handled import note_handled
from bench.peers.settings import PUBLISH_BATCH, PeerSettings
from bench.system import EMAIL_REQUEST

QUORUM = {"x-queue-type": "quorum"}


async def _declared(channel: aio_pika.abc.AbstractChannel, settings: PeerSettings) -> aio_pika.abc.AbstractQueue:
    return await channel.declare_queue(settings.queue, durable=True, arguments=QUORUM)


async def consume(settings: PeerSettings) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            note_handled()

    connection = await aio_pika.connect_robust(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=settings.prefetch)
        queue = await _declared(channel, settings)
        await queue.consume(on_message)
        await stop.wait()


async def prefill(settings: PeerSettings, count: int) -> None:
    body = json.dumps(EMAIL_REQUEST).encode()

    def job() -> aio_pika.Message:
        return aio_pika.Message(body, content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await _declared(channel, settings)
        for start in range(0, count, PUBLISH_BATCH):
            batch = min(PUBLISH_BATCH, count - start)
            await asyncio.gather(
                *(channel.default_exchange.publish(job(), routing_key=settings.queue) for _ in range(batch))
            )


if __name__ == "__main__":
    settings = PeerSettings.from_env()
    if sys.argv[1] == "consume":
        uvloop.run(consume(settings))
    else:
        uvloop.run(prefill(settings, int(sys.argv[2])))
