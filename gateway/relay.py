"""The relay: moves events from the outbox to the broker, confirmed, many at a time."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Counter

from gateway.outbox import Outbox, Pending
from runtime.broker import Broker

log = structlog.get_logger("offload.relay")

PUBLISHED = Counter("offload_outbox_published", "Outbox events the broker confirmed.")
PUBLISH_FAILURES = Counter("offload_outbox_publish_failures", "Outbox publishes that failed and wait for a retry.")


class Relay:
    def __init__(
        self,
        outbox: Outbox,
        broker: Broker,
        *,
        batch: int = 500,
        lease: float = 30.0,
        poll: float = 1.0,
        retry_after: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._broker = broker
        self._batch = batch
        self._lease = lease
        self._poll = poll
        self._retry_after = retry_after
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was added: publish now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; survives broker outages and restarts of either side."""
        while True:
            self._wake.clear()
            published, failed = (0, 0) if not self._broker.is_connected else await self.publish_batch()
            if failed or not self._broker.is_connected:
                await asyncio.sleep(self._retry_after)
            elif published < self._batch:
                # Caught up: sleep until woken (or poll, for rows another gateway left).
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                except TimeoutError:
                    pass

    async def publish_batch(self) -> tuple[int, int]:
        """Publish one batch concurrently; returns (published, failed)."""
        pending = await self._outbox.claim(self._batch, self._lease)
        if not pending:
            return 0, 0
        outcomes = await asyncio.gather(*(self._publish(item) for item in pending), return_exceptions=True)
        confirmed = [item.id for item, outcome in zip(pending, outcomes, strict=True) if outcome is None]
        failed = [item.id for item, outcome in zip(pending, outcomes, strict=True) if outcome is not None]
        await self._outbox.remove(confirmed)
        await self._outbox.release(failed)
        PUBLISHED.inc(len(confirmed))
        PUBLISH_FAILURES.inc(len(failed))
        if failed:
            first = next(outcome for outcome in outcomes if outcome is not None)
            log.warning("publish failed, will retry", failed=len(failed), published=len(confirmed), error=str(first))
        return len(confirmed), len(failed)

    async def _publish(self, item: Pending) -> None:
        await self._broker.publish_body(
            item.body,
            exchange=self._broker.topology.events.name,
            routing_key=item.routing_key,
            message_id=item.message_id,
            message_type=item.routing_key,
        )
