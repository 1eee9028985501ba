"""Real provider servers on loopback (pytest-httpserver, in a thread) and settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_support import WEBHOOK_SECRET
from pytest_httpserver import HTTPServer

from contracts.topology import Topology
from notify_service.handler import NotifyHandler
from notify_service.service import notify_handler
from notify_service.settings import NotifySettings
from runtime.broker import Broker
from support.topology import TEST_RETRY


@pytest.fixture(scope="session")
def provider_server() -> Iterator[HTTPServer]:
    # One server for the session: stopping one takes half a second.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def provider(provider_server: HTTPServer) -> Iterator[HTTPServer]:
    """A provider's HTTP server on 127.0.0.1, the one address and port the tests allowlist."""
    yield provider_server
    provider_server.clear()


@pytest.fixture
def settings(amqp_url: str, topology: Topology, tmp_path: Path, provider: HTTPServer) -> Callable[..., NotifySettings]:
    def make(**overrides: Any) -> NotifySettings:
        fields: dict[str, Any] = {
            "amqp_url": amqp_url,
            "offload_namespace": topology.namespace,
            "retry_max_attempts": TEST_RETRY.max_attempts,
            "retry_first_delay": TEST_RETRY.first_delay,
            "retry_multiplier": TEST_RETRY.multiplier,
            "retry_max_delay": TEST_RETRY.max_delay,
            "inbox_url": f"sqlite+aiosqlite:///{tmp_path}/inbox.db",
            "notify_deliveries_url": f"sqlite+aiosqlite:///{tmp_path}/deliveries.db",
            "notify_allowed_hosts": f"127.0.0.1:{provider.port}",
            "notify_webhook_secret": WEBHOOK_SECRET,
            "notify_timeout": 5,
            **overrides,
        }
        return NotifySettings(_env_file=None, **fields)

    return make


@pytest.fixture
async def publisher(amqp_url, topology, amqp) -> AsyncIterator[Broker]:
    """Publishes events to the notify service's queue on the real broker."""
    broker = Broker(amqp_url, topology, name="test-publisher")
    await broker.connect()
    await broker.declare(topology.service("notify").all())
    yield broker
    await broker.close()


@pytest.fixture
async def handler(settings) -> AsyncIterator[NotifyHandler]:
    async with notify_handler(settings()) as opened:
        yield opened
