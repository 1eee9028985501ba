"""Taskiq peer: a taskiq app on taskiq-aio-pika, run by taskiq's own CLI.

    taskiq worker bench.peers.taskiq_app:broker --workers 2     # what the bench runs
    python -m bench.peers.taskiq_app prefill 20000               # queue the jobs with `.kiq()`

Its queue, exchange and dead-letter queue are named after the bench's queue
and are quorum queues; `qos` is the prefetch of each worker process. Acks
follow taskiq's default (`--ack-type when_saved`: after the task ran and its
result, here none, was saved).
"""

from __future__ import annotations

import asyncio
import sys

from taskiq_aio_pika import AioPikaBroker, Exchange, Queue, QueueType

from bench.peers.handled import note_handled
from bench.peers.settings import PUBLISH_BATCH, PeerSettings
from bench.system import EMAIL_REQUEST

settings = PeerSettings.from_env()

broker = AioPikaBroker(
    settings.amqp_url,
    qos=settings.prefetch,
    exchange=Exchange(name=settings.queue),
    task_queues=[Queue(name=settings.queue, type=QueueType.QUORUM)],
    dead_letter_queue=Queue(name=f"{settings.queue}.dead", type=QueueType.QUORUM),
)


@broker.task(task_name="send_email")
async def send_email(to: list[str], subject: str, text: str) -> None:
    note_handled()


async def prefill(count: int) -> None:
    await broker.startup()
    try:
        for start in range(0, count, PUBLISH_BATCH):
            await asyncio.gather(*(send_email.kiq(**EMAIL_REQUEST) for _ in range(min(PUBLISH_BATCH, count - start))))
    finally:
        await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(prefill(int(sys.argv[2])))
