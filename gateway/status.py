"""Folding the services' status events into the job store, believing only service users.

Status events arrive three per job; folding them in batches keeps the
store's single writer from becoming the bottleneck.

Anyone who may publish to the broker could send a `job.succeeded`; RabbitMQ
vouches for the `user_id` of each message, so the gateway folds a status event
only when its publisher is a trusted service user reporting on a job of its own
service (STATUS_PUBLISHERS). Any other is dead-lettered unfolded, and counted.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from prometheus_client import Counter

from contracts.events import JobStatusEvent, StatusEvent
from contracts.topology import SERVICE_TASKS
from gateway.settings import GatewaySettings
from gateway.store import JobStore
from runtime.batch import Batcher
from runtime.broker import Broker
from runtime.consumer import Consumer, Screen
from runtime.job import JobContext
from runtime.reporting import Silent
from runtime.tries import TriesInHeader

log = structlog.get_logger("offload.gateway")

REFUSED = Counter(
    "offload_status_events_refused_total",
    "Status events dead-lettered unfolded because their publisher may not report them.",
    ["reason"],
)


class StatusConsumer:
    """Consumes every job status event and folds them into `store` in batches."""

    def __init__(self, broker: Broker, store: JobStore, settings: GatewaySettings) -> None:
        self._folds: Batcher[StatusEvent, None] = Batcher(store.apply_many)
        self._consumer: Consumer[StatusEvent] = Consumer(
            broker,
            settings.topology.gateway(settings.retry_policy),
            JobStatusEvent,
            self._fold,
            # A status event is news about a job, not a job: nothing to report
            # about it, and its body's `attempt` is the job's, so its own tries
            # are counted in a header.
            reporter=Silent(),
            tries=TriesInHeader(),
            retry=settings.retry_policy,
            prefetch=settings.status_prefetch,
            max_message_bytes=settings.max_message_bytes,
            screen=trusted_only(settings.trusted_status_publishers()),
        )

    @property
    def is_attached(self) -> bool:
        return self._consumer.is_attached

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self, grace: float) -> None:
        """Stop consuming (in-flight events get `grace` seconds), then stop folding."""
        await self._consumer.stop(grace)
        await self._folds.close()

    async def _fold(self, event: StatusEvent, _: JobContext) -> None:
        await self._folds.submit(event)


def trusted_only(trusted: Mapping[str, frozenset[str]]) -> Screen[StatusEvent]:
    """Refuses a status event unless its publisher may report on jobs of the event's task type."""

    def screen(event: StatusEvent, publisher: str | None) -> str | None:
        services = trusted.get(publisher or "")
        if services is None:
            return _refuse("untrusted_publisher", event, publisher, "is not a service user")
        if not any(SERVICE_TASKS[service] == event.task_type for service in services):
            return _refuse("other_service", event, publisher, f"reports for {', '.join(sorted(services))} only")
        return None

    return screen


def _refuse(reason: str, event: StatusEvent, publisher: str | None, why: str) -> str:
    REFUSED.labels(reason).inc()
    who = f"broker user {publisher!r}" if publisher else "a publisher that set no user_id"
    log.warning("status event refused", reason=reason, publisher=publisher, job_id=str(event.job_id), type=event.type)
    return f"{event.type} for {event.task_type.value} job {event.job_id} came from {who}, which {why}"
