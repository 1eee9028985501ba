"""Celery peer: a Celery app on RabbitMQ, run by Celery's own CLI with its prefork pool.

    celery -A bench.peers.celery_app worker -c 2 -P prefork      # what the bench runs
    python -m bench.peers.celery_app prefill 20000                 # queue the jobs with `.apply_async()`

Configured as Celery's documentation says for quorum queues (the queue
declared with `x-queue-type: quorum`; Celery then detects it and uses
per-consumer QoS), with `acks_late` and no result backend. The worker's
prefetch is `worker_prefetch_multiplier` times its processes, so the
multiplier is set to give the bench's prefetch for the whole worker. The
prefill publishes without publisher confirms (the bench checks the queue's
depth before it starts the worker instead), as the worker itself publishes
nothing.
"""

from __future__ import annotations

import sys

from celery import Celery
from kombu import Exchange, Queue

from bench.peers.handled import note_handled
from bench.peers.settings import WORKER_PROCESSES, PeerSettings
from bench.system import EMAIL_REQUEST

settings = PeerSettings.from_env()

app = Celery("bench_peers", broker=settings.amqp_url)
app.conf.update(
    task_queues=[
        Queue(
            settings.queue,
            Exchange(settings.queue, type="direct"),
            routing_key=settings.queue,
            queue_arguments={"x-queue-type": "quorum"},
        )
    ],
    task_default_queue=settings.queue,
    task_default_exchange=settings.queue,
    task_default_routing_key=settings.queue,
    task_acks_late=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=max(1, settings.prefetch // WORKER_PROCESSES),
    broker_connection_retry_on_startup=True,
)


@app.task(name="send_email")
def send_email(to: list[str], subject: str, text: str) -> None:
    note_handled()


def prefill(count: int) -> None:
    with app.connection_for_write() as connection:
        app.amqp.queues[settings.queue](connection.default_channel).declare()
    for _ in range(count):
        send_email.apply_async(kwargs=EMAIL_REQUEST)


if __name__ == "__main__":
    prefill(int(sys.argv[2]))
