"""Running a service: everything between `python -m email_service` and its handler.

A service module only says which service it is and hands over its handler:

    run(Service(name="email", handler=EmailHandler(settings, SmtpMailer(settings)), settings=settings))

With WORKERS above 1, `run` makes the process a supervisor of that many
workers (`runtime.supervisor`), each of which runs the same command and so
comes back here, to `serve` as one of them (`runtime.worker`).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, replace
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
from runtime.probe import Checks, ProbeServer, probe_app
from runtime.reporting import JobEvents
from runtime.settings import ServiceSettings
from runtime.supervisor import supervise
from runtime.tries import tries_of
from runtime.worker import SupervisedWorker

log = structlog.get_logger("offload.service")


@dataclass(frozen=True)
class Service(Generic[E]):
    name: str
    """A key of `contracts.topology.SERVICE_TASKS`; it picks the queues and the event type."""
    handler: Handler[E] | AbstractAsyncContextManager[Handler[E]]
    """The business logic, or a context manager that opens its resources and yields it."""
    settings: ServiceSettings


def run(service: Service[Any]) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully; `PortUnavailable` if HEALTH_PORT is taken.

    With WORKERS above 1, as the supervisor of that many workers: `WorkersFailing`
    if one keeps dying before it is ready.
    """
    configure_logging(service.settings.log_level, service.settings.log_format)
    worker = SupervisedWorker.from_environment()
    if worker is not None:
        # Every line this worker logs says which worker it is.
        structlog.contextvars.bind_contextvars(worker=worker.number)
        uvloop.run(_serve_supervised(service, worker))
    elif service.settings.workers > 1:
        supervise(service.name, service.settings)
    else:
        uvloop.run(serve(service))


async def serve(
    service: Service[Any], stop: asyncio.Event | None = None, report: Callable[[Checks], None] | None = None
) -> None:
    """Consume until `stop` is set (by default: SIGTERM or SIGINT); `report` is handed the readiness checks."""
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

        def checks() -> dict[str, bool]:
            return {"broker": broker.is_connected, "consumer": consumer.is_attached}

        if report is not None:
            report(checks)
        if listener is not None:
            probe = ProbeServer(probe_app(service.name, checks), settings.health_host, settings.health_port)
            await resources.enter_async_context(probe.serving(listener))
        await consumer.start()
        log.info("service ready", service=service.name, queue=queues.work.name)
        await stop.wait()
        log.info("service stopping", service=service.name, grace_s=settings.shutdown_grace)
        await consumer.stop(settings.shutdown_grace)
    log.info("service stopped", service=service.name)


async def _serve_supervised(service: Service[Any], worker: SupervisedWorker) -> None:
    stop = _stop_on_signals()
    # The supervisor holds the health port, and answers for every worker.
    alone = replace(service, settings=service.settings.model_copy(update={"health_port": None}))
    async with worker.linked(stop) as report:
        await serve(alone, stop, report)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
