"""What the routes work with: the settings, the job store, the broker, the status consumer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from gateway.settings import GatewaySettings
from gateway.status import status_consumer
from gateway.store import JobStore
from runtime.broker import Broker
from runtime.consumer import Consumer

log = structlog.get_logger("offload.gateway")


@dataclass
class Gateway:
    """What the routes need: the store, the broker, and the status consumer once attached."""

    settings: GatewaySettings
    store: JobStore
    broker: Broker
    status: Consumer | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def attach_broker(self) -> None:
        """Connect (waiting for the broker if needed), declare the topology, consume status events."""
        if not await self.broker.connect_when_available(self._stop):
            return
        topology = self.settings.topology
        queues = [queue for service in topology.all_services() for queue in service.all()]
        await self.broker.declare([*queues, *topology.gateway(self.settings.retry_policy).all()])
        self.status = status_consumer(self.broker, self.store, self.settings)
        await self.status.start()
        log.info("gateway attached to broker")

    async def close(self) -> None:
        self._stop.set()
        if self.status is not None:
            await self.status.stop(self.settings.shutdown_grace)
        await self.broker.close()
        await self.store.close()
