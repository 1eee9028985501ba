"""A service's runtime in the test's own process, with a handler the test writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from contracts.topology import Topology
from runtime import Service, ServiceSettings, serve
from support.topology import TEST_RETRY


def service_settings(amqp_url: str, topology: Topology, tmp_path: Path, **overrides: Any) -> ServiceSettings:
    """Settings in the test's namespace, with fast retries and an inbox of its own."""
    return ServiceSettings(
        amqp_url=amqp_url,
        offload_namespace=topology.namespace,
        retry_max_attempts=TEST_RETRY.max_attempts,
        retry_first_delay=TEST_RETRY.first_delay,
        retry_multiplier=TEST_RETRY.multiplier,
        retry_max_delay=TEST_RETRY.max_delay,
        inbox_url=f"sqlite+aiosqlite:///{tmp_path}/inbox.db",
        **overrides,
    )


@asynccontextmanager
async def running(
    handler: Callable[..., Awaitable[Any]], settings: ServiceSettings, name: str = "email"
) -> AsyncIterator[asyncio.Event]:
    """The runtime of service `name` (email by default) with `handler` as its business
    logic; set the yielded event to stop it as SIGTERM would."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(Service(name=name, handler=handler, settings=settings), stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
