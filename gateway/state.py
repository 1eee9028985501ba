"""What the routes work with: the database, the broker, and the tasks that keep them in step."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog

from gateway import idempotency
from gateway.intake import Intake
from gateway.outbox import Outbox
from gateway.relay import Relay
from gateway.settings import GatewaySettings
from gateway.status import StatusConsumer
from gateway.store import JobStore
from runtime.broker import Broker
from runtime.database import Database
from storage import Storage

log = structlog.get_logger("offload.gateway")

HOUSEKEEPING_EVERY = 3600.0


@dataclass
class Gateway:
    """The gateway's parts, built from its settings, started and closed together."""

    settings: GatewaySettings
    db: Database
    broker: Broker
    store: JobStore = field(init=False)
    storage: Storage = field(init=False)
    intake: Intake = field(init=False)
    outbox: Outbox = field(init=False)
    relay: Relay = field(init=False)
    status: StatusConsumer | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = JobStore(self.db, max_attempts=self.settings.retry_max_attempts)
        self.storage = self.settings.storage()
        self.outbox = Outbox(self.db)
        self.relay = Relay(self.outbox, self.broker, batch=self.settings.relay_batch)
        # The relay publishes what the intake recorded as soon as it is committed.
        self.intake = Intake(
            self.db, self.store, key_ttl=self.settings.idempotency_key_ttl, on_recorded=self.relay.wake
        )

    def start(self) -> None:
        """Run in the background: attach to the broker, relay the outbox, tidy up."""
        for work in (self._attach_broker(), self.relay.run(), self._housekeeping()):
            self._tasks.append(asyncio.create_task(work))

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.status is not None:
            await self.status.stop(self.settings.shutdown_grace)
        await self.intake.close()
        await self.broker.close()
        await self.db.close()

    async def _attach_broker(self) -> None:
        """Connect (waiting for the broker if needed), declare the topology, consume status events."""
        if not await self.broker.connect_when_available(self._stop):
            return
        topology = self.settings.topology
        own_delays = topology.gateway(self.settings.retry_policy).delays.values()
        await self.broker.declare([*topology.every_queue(), *own_delays])
        self.status = StatusConsumer(self.broker, self.store, self.settings)
        await self.status.start()
        self.relay.wake()
        log.info("gateway attached to broker")

    async def _housekeeping(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed round is retried in an hour
                purged = await idempotency.purge_expired(self.db)
                if purged:
                    log.info("expired idempotency keys purged", count=purged)
            await asyncio.sleep(HOUSEKEEPING_EVERY)
