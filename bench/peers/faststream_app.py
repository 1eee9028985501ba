"""FastStream peer: a FastStream app on RabbitMQ, in one process, run by FastStream's CLI.

    faststream run bench.peers.faststream_app:app --log-level warning   # what the bench runs
    python -m bench.peers.faststream_app prefill 20000                  # queue the jobs with `broker.publish`

The subscriber's queue is a quorum queue; the prefetch is set on the
broker's default channel. The handler's parameter is a pydantic model of the
job's body, so FastStream validates every message, as its users write it;
acks follow FastStream's default policy (after the handler returned).
"""

from __future__ import annotations

import asyncio
import sys

from faststream import FastStream
from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitQueue
from pydantic import BaseModel

from bench.peers.handled import note_handled
from bench.peers.settings import PUBLISH_BATCH, PeerSettings
from bench.system import EMAIL_REQUEST

settings = PeerSettings.from_env()

broker = RabbitBroker(settings.amqp_url, default_channel=Channel(prefetch_count=settings.prefetch))
app = FastStream(broker)
queue = RabbitQueue(settings.queue, queue_type=QueueType.QUORUM)


class Email(BaseModel):
    to: list[str]
    subject: str
    text: str


@broker.subscriber(queue)
async def send_email(email: Email) -> None:
    note_handled()


async def prefill(count: int) -> None:
    await broker.connect()
    try:
        await broker.declare_queue(queue)
        for start in range(0, count, PUBLISH_BATCH):
            batch = min(PUBLISH_BATCH, count - start)
            await asyncio.gather(*(broker.publish(EMAIL_REQUEST, queue=queue, persist=True) for _ in range(batch)))
    finally:
        await broker.stop()


if __name__ == "__main__":
    asyncio.run(prefill(int(sys.argv[2])))
