"""Running a service: everything between `python -m email_service` and its handler.

A service module only says which service it is and hands over its handler:

    run(Service(name="email", handler=EmailHandler(settings, SmtpMailer(settings)), settings=settings))
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic

import structlog
import uvloop

from contracts.events import TASK_EVENTS
from contracts.topology import SERVICE_TASKS
from runtime.broker import Broker
from runtime.consumer import Consumer, E, Handler
from runtime.inbox import Inbox
from runtime.logs import configure_logging
from runtime.ports import listen
from runtime.probe import ProbeServer, probe_app
from runtime.reporting import JobEvents
from runtime.settings import ServiceSettings
from runtime.tries import tries_of

log = structlog.get_logger("offload.service")


@dataclass(frozen=True)
class Service(Generic[E]):
    name: str
    """A key of `contracts.topology.SERVICE_TASKS`; it picks the queues and the event type."""
    handler: Handler[E] | AbstractAsyncContextManager[Handler[E]]
    """The business logic, or a context manager that opens its resources and yields it."""
    settings: ServiceSettings


def run(service: Service[Any]) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully; `PortUnavailable` if HEALTH_PORT is taken."""
    configure_logging(service.settings.log_level, service.settings.log_format)
    uvloop.run(serve(service))


async def serve(service: Service[Any], stop: asyncio.Event | None = None) -> None:
    settings = service.settings
    task_type = SERVICE_TASKS[service.name]
    queues = settings.topology.service(service.name, settings.retry_policy)
    stop = stop or _stop_on_signals()
    broker = Broker.from_settings(settings, f"offload-{service.name}")
    async with AsyncExitStack() as resources:
        # The health port first: one in use stops the service before it touches the broker.
        listener = None
        if settings.health_port is not None:
            listener = listen(settings.health_host, settings.health_port, "HEALTH_PORT")
            resources.callback(listener.close)
        handler = service.handler
        if isinstance(handler, AbstractAsyncContextManager):
            handler = await resources.enter_async_context(handler)
        inbox = Inbox(settings.inbox_url_for(service.name), timedelta(days=settings.inbox_retention_days))
        await inbox.open()
        resources.push_async_callback(inbox.close)
        if not await broker.connect_when_available(stop):
            return
        resources.push_async_callback(broker.close)
        await broker.declare(queues.all())
        consumer: Consumer[Any] = Consumer(
            broker,
            queues,
            TASK_EVENTS[task_type],
            handler,
            reporter=JobEvents(broker, task_type, service.name),
            tries=tries_of(queues),
            retry=settings.retry_policy,
            prefetch=settings.prefetch,
            max_message_bytes=settings.max_message_bytes,
            inbox=inbox,
        )
        if listener is not None:
            probe = ProbeServer(
                probe_app(service.name, lambda: {"broker": broker.is_connected, "consumer": consumer.is_attached}),
                settings.health_host,
                settings.health_port,
            )
            probe_task = asyncio.create_task(probe.serve(sockets=[listener]))
            resources.push_async_callback(_stop_probe, probe, probe_task)
        await consumer.start()
        log.info("service ready", service=service.name, queue=queues.work.name)
        await stop.wait()
        log.info("service stopping", service=service.name, grace_s=settings.shutdown_grace)
        await consumer.stop(settings.shutdown_grace)
    log.info("service stopped", service=service.name)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _stop_probe(probe: ProbeServer, task: asyncio.Task[None]) -> None:
    probe.should_exit = True
    await task
