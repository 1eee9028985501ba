"""(b) Consumer drain rate: the runtime next to a plain aio-pika consumer.

Both start on a quorum queue pre-filled with the same number of persistent
`EmailRequested` messages, declared with the work queue's own arguments, and
consume with the same prefetch. Per message, the runtime does what it does in
production around a no-op handler (today: validate the event, look it up in
and record it to its inbox, publish `job.started` and `job.succeeded` with
confirms, ack); the plain consumer only acks. The clock runs from the first
message handled to the last one finished, so connecting and declaring are not
counted for either; a consumer that has not drained the queue within the
budget is reported at its rate so far.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
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
# Seconds a consumer gets to drain the queue. One that is slower is reported
# at its rate so far (and as not drained), so the whole run stays short.
DRAIN_BUDGET = 25.0


class Tally:
    """Counts messages as they are finished; notes when the first came and when all were done."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first: float | None = None
        self.done = asyncio.Event()

    def seen(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.count += 1
        if self.count == self.expected:
            self.done.set()


def _outcome(first: float | None, finished: int, expected: int) -> dict[str, Any]:
    """The rate from the first delivery until now, over the messages finished by now."""
    if first is None:
        raise RuntimeError(f"no message was handled within {DRAIN_BUDGET:g}s")
    seconds = time.perf_counter() - first
    return {
        "drained": finished >= expected,
        "finished": finished,
        "seconds": seconds,
        "msg_per_s": finished / seconds,
    }


async def prefill(settings: ServiceSettings, queues: list[Queue], count: int, exchange: str, routing_key: str) -> None:
    """Declare `queues` and publish `count` persistent emails through the runtime's own Broker."""
    broker = Broker(settings.amqp_url.get_secret_value(), settings.topology, name="offload-bench-prefill")
    await broker.connect()
    try:
        await broker.declare(queues)

        async def publish() -> None:
            event = EmailRequested(**EMAIL_REQUEST)
            body = event.__pydantic_serializer__.to_json(event)
            await broker.publish_body(
                body,
                exchange=exchange,
                routing_key=routing_key,
                message_id=str(event.message_id),
                message_type=event.type,
            )

        for start in range(0, count, PUBLISH_BATCH):
            await asyncio.gather(*(publish() for _ in range(min(PUBLISH_BATCH, count - start))))
    finally:
        await broker.close()


def _runtime_succeeded() -> float:
    # The runtime counts a success once `job.succeeded` is confirmed, just before the ack.
    return REGISTRY.get_sample_value("offload_messages_total", {"service": "email", "outcome": "succeeded"}) or 0.0


async def _within_budget(done: asyncio.Event, serving: asyncio.Task[None] | None = None) -> None:
    """Wait for `done` until the budget is spent; fail at once if the runtime stops on its own."""
    waiting = asyncio.ensure_future(done.wait())
    try:
        watched = {waiting, serving} if serving else {waiting}
        await asyncio.wait(watched, timeout=DRAIN_BUDGET, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if serving is not None and serving.done():
        serving.result()
        raise RuntimeError("the runtime stopped before the queue was drained")


async def _drain_runtime(settings: ServiceSettings, count: int) -> dict[str, Any]:
    topology, retry = settings.topology, settings.retry_policy
    work = topology.service("email", retry)
    # The gateway's status queue too, so that status events are routed and
    # stored by the broker as in production (nobody consumes them here).
    status = topology.gateway(retry)
    # Published as the gateway does: on the events exchange, routed by the event type.
    routing_key = topology.routing_key(TaskType.email)
    await prefill(settings, [*work.all(), *status.all()], count, topology.events.name, routing_key)

    handled = Tally(count)

    async def no_op(event: EmailRequested, job: JobContext) -> None:
        handled.seen()

    succeeded_before = _runtime_succeeded()

    def finished() -> int:
        return int(_runtime_succeeded() - succeeded_before)

    stop = asyncio.Event()
    serving = asyncio.create_task(serve(Service(name="email", handler=no_op, settings=settings), stop))
    try:
        await _within_budget(handled.done, serving)
        # The handler ran for every message; the last few (at most the
        # prefetch) are still publishing `job.succeeded` before their ack.
        tail_deadline = time.monotonic() + 5.0
        while handled.done.is_set() and finished() < count and time.monotonic() < tail_deadline:
            await asyncio.sleep(0.001)
        outcome = _outcome(handled.first, finished(), count)
    finally:
        stop.set()
        await asyncio.gather(serving, return_exceptions=True)

    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        outcome["status_events_published"] = await queue_depth(connection, status.work.name)
        outcome["left_in_queue"] = await queue_depth(connection, work.work.name)
    finally:
        await connection.close()
    return outcome


def _twin(settings: ServiceSettings) -> Queue:
    """The plain consumer's queue: the runtime's work queue arguments, no bindings.

    Same arguments, so the queue type and its dead-letter policy cost the
    broker the same; it is reached through the default exchange.
    """
    work = settings.topology.service("email").work
    return Queue(name=f"{work.name}.raw", arguments=work.arguments)


async def _drain_raw(settings: ServiceSettings, count: int) -> dict[str, Any]:
    twin = _twin(settings)
    await prefill(settings, [twin], count, "", twin.name)

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
        await _within_budget(tally.done)
        outcome = _outcome(tally.first, tally.count, count)
        await queue.cancel(tag)
        outcome["left_in_queue"] = await queue_depth(connection, twin.name)
    finally:
        await connection.close()
    return outcome


async def measure(count: int, prefetch: int, work_dir: Path) -> dict[str, Any]:
    # As `runtime.run` does in a service, so its log calls cost what they cost there.
    configure_logging(LOG_LEVEL)
    settings = namespace_settings(f"b{prefetch}", work_dir).model_copy(update={"prefetch": prefetch})
    async with cleaned_up(settings, extra_queues=[_twin(settings).name]):
        offload = await _drain_runtime(settings, count)
        baseline = await _drain_raw(settings, count)
    return {
        "parameters": {
            "messages": count,
            "prefetch": prefetch,
            "queue": "quorum, persistent messages",
            "publish_batch": PUBLISH_BATCH,
            "drain_budget_s": DRAIN_BUDGET,
        },
        "offload": offload,
        "baseline": baseline,
        "ratio": offload["msg_per_s"] / baseline["msg_per_s"],
    }
