"""(b) Consumer drain rate: the runtime next to a plain aio-pika consumer.

Both start on a quorum queue pre-filled with the same number of persistent
`EmailRequested` messages, declared with the work queue's own arguments, and
consume with the same prefetch. Per message, the runtime validates the event,
publishes `job.started` and `job.succeeded` with confirms, runs a no-op
handler and acks; the plain consumer only acks. The clock runs from the first
message handled to the last one finished, so connecting and declaring are not
counted for either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from prometheus_client import REGISTRY

from bench.system import EMAIL_REQUEST, LOG_LEVEL, cleaned_up, namespace_settings, queue_depth
from contracts.events import EmailRequested, TaskType
from contracts.topology import Queue
from runtime import JobContext, Service, serve
from runtime.broker import Broker
from runtime.logs import configure_logging
from runtime.settings import ServiceSettings

# Publishes awaited together: enough in flight for the broker to batch its confirms.
PUBLISH_BATCH = 500
DRAIN_TIMEOUT = 120.0


class Tally:
    """Counts finished messages; knows when the first one came and when the last one finished."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.done = asyncio.Event()

    def seen(self) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.count += 1
        if self.count == self.expected:
            self.last = now
            self.done.set()

    @property
    def rate(self) -> float:
        assert self.first is not None and self.last is not None
        return self.expected / (self.last - self.first)


async def _prefill(settings: ServiceSettings, queues: list[Queue], count: int, exchange: str, routing_key: str) -> None:
    """Declare `queues` and publish `count` persistent emails through the runtime's own Broker."""
    broker = Broker(settings.amqp_url.get_secret_value(), settings.topology, name="offload-bench-prefill")
    await broker.connect()
    try:
        await broker.declare(queues)

        async def publish() -> None:
            event = EmailRequested(**EMAIL_REQUEST)
            body = event.__pydantic_serializer__.to_json(event)
            await broker.publish_body(
                body, exchange=exchange, routing_key=routing_key, message_id=str(event.message_id), message_type=event.type
            )

        for start in range(0, count, PUBLISH_BATCH):
            await asyncio.gather(*(publish() for _ in range(min(PUBLISH_BATCH, count - start))))
    finally:
        await broker.close()


def _runtime_succeeded() -> float:
    # The runtime counts a success once `job.succeeded` is confirmed, just before the ack.
    return REGISTRY.get_sample_value("offload_messages_total", {"service": "email", "outcome": "succeeded"}) or 0.0


async def _until(done: Callable[[], Awaitable[None]], serving: asyncio.Task[None]) -> None:
    """Wait for `done`, but fail at once if the runtime stops on its own (a broken start)."""
    waiting = asyncio.ensure_future(done())
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            await asyncio.wait({waiting, serving}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()
            raise RuntimeError("the runtime stopped before the queue was drained")
        await waiting
    finally:
        waiting.cancel()


async def _drain_runtime(settings: ServiceSettings, count: int) -> dict[str, Any]:
    topology, retry = settings.topology, settings.retry_policy
    work = topology.service("email", retry)
    # The gateway's status queue too, so that status events are routed and
    # stored by the broker as in production (nobody consumes them here).
    status = topology.gateway(retry)
    await _prefill(settings, [*work.all(), *status.all()], count, topology.events.name, topology.routing_key(TaskType.email))

    tally = Tally(count)

    async def no_op(event: EmailRequested, job: JobContext) -> None:
        tally.seen()

    succeeded_before = _runtime_succeeded()

    async def all_succeeded() -> None:
        await tally.done.wait()
        # The handler ran for every message; the last few are still publishing
        # `job.succeeded`. The success counter tells when they are through.
        while _runtime_succeeded() < succeeded_before + count:
            await asyncio.sleep(0.001)
        tally.last = time.perf_counter()

    stop = asyncio.Event()
    serving = asyncio.create_task(serve(Service(name="email", handler=no_op, settings=settings), stop))
    try:
        await _until(all_succeeded, serving)
    finally:
        stop.set()
        await asyncio.gather(serving, return_exceptions=True)

    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        status_events = await queue_depth(connection, status.work.name)
        left = await queue_depth(connection, work.work.name)
    finally:
        await connection.close()
    return {
        "seconds": tally.last - tally.first,
        "msg_per_s": tally.rate,
        "status_events_published": status_events,
        "left_in_queue": left,
    }


def _twin(settings: ServiceSettings) -> Queue:
    """The plain consumer's queue: the runtime's work queue arguments, no bindings.

    Same arguments, so the queue type and its dead-letter policy cost the
    broker the same; it is reached through the default exchange.
    """
    work = settings.topology.service("email").work
    return Queue(name=f"{work.name}.raw", arguments=work.arguments)


async def _drain_raw(settings: ServiceSettings, count: int) -> dict[str, Any]:
    twin = _twin(settings)
    await _prefill(settings, [twin], count, "", twin.name)

    tally = Tally(count)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            pass
        tally.seen()

    connection = await aio_pika.connect_robust(settings.amqp_url.get_secret_value())
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=settings.prefetch)
        queue = await channel.declare_queue(twin.name, durable=True, arguments=dict(twin.arguments))
        tag = await queue.consume(on_message)
        async with asyncio.timeout(DRAIN_TIMEOUT):
            await tally.done.wait()
        await queue.cancel(tag)
        left = await queue_depth(connection, twin.name)
    finally:
        await connection.close()
    return {"seconds": tally.last - tally.first, "msg_per_s": tally.rate, "left_in_queue": left}


async def measure(count: int, prefetch: int) -> dict[str, Any]:
    # As `runtime.run` does in a service, so its log calls cost what they cost there.
    configure_logging(LOG_LEVEL)
    settings = namespace_settings(f"b{prefetch}").model_copy(update={"prefetch": prefetch})
    async with cleaned_up(settings, extra_queues=[_twin(settings).name]):
        offload = await _drain_runtime(settings, count)
        baseline = await _drain_raw(settings, count)
    return {
        "parameters": {
            "messages": count,
            "prefetch": prefetch,
            "queue": "quorum, persistent messages",
            "publish_batch": PUBLISH_BATCH,
        },
        "offload": offload,
        "baseline": baseline,
        "ratio": offload["msg_per_s"] / baseline["msg_per_s"],
    }
