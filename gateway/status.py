"""Folding the services' status events into the job store."""

from __future__ import annotations

from contracts.events import JobStatusEvent, StatusEvent
from gateway.settings import GatewaySettings
from gateway.store import JobStore
from runtime.broker import Broker
from runtime.consumer import Consumer
from runtime.job import JobContext


def status_consumer(broker: Broker, store: JobStore, settings: GatewaySettings) -> Consumer[StatusEvent]:
    async def record(event: StatusEvent, _: JobContext) -> None:
        await store.apply(event)

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
