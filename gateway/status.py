"""Folding the services' status events into the job store."""

from __future__ import annotations

from contracts.events import JobStatusEvent, StatusEvent
from gateway.settings import GatewaySettings
from runtime.batch import Batcher
from runtime.broker import Broker
from runtime.consumer import Consumer
from runtime.job import JobContext


def status_consumer(
    broker: Broker, folds: Batcher[StatusEvent, None], settings: GatewaySettings
) -> Consumer[StatusEvent]:
    """A consumer of every job status event; `folds` writes them to the store in batches."""

    async def record(event: StatusEvent, _: JobContext) -> None:
        await folds.submit(event)

    return Consumer(
        broker,
        settings.topology.gateway(settings.retry_policy),
        JobStatusEvent,
        record,
        task_type=None,
        retry=settings.retry_policy,
        prefetch=settings.status_prefetch,
        max_message_bytes=settings.max_message_bytes,
    )
