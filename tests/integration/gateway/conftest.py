"""The gateway's app in the test's own process, on the real broker and a SQLite job store;
its broker connection alone; and its database alone, on SQLite and on PostgreSQL.

PostgreSQL gets a fresh database for the session (dropped at the end), emptied
before each test; set `TEST_POSTGRES_URL` to point elsewhere, or
`OFFLOAD_SKIP_POSTGRES=1` to skip those cases when no server is at hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from contracts.topology import Topology
from gateway.app import create_app
from gateway.database import gateway_database
from gateway.settings import GatewaySettings
from gateway.tables import metadata
from runtime.broker import Broker
from runtime.database import Database
from support.topology import TEST_RETRY


def gateway_settings(amqp_url: str, topology: Topology, tmp_path: Path, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        amqp_url=amqp_url,
        offload_namespace=topology.namespace,
        retry_max_attempts=TEST_RETRY.max_attempts,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/jobs.db",
        file_storage_root=str(tmp_path / "files"),
        **overrides,
    )


@asynccontextmanager
async def serving(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for a gateway app running in this process, lifespan and all."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # A 500 is an answer to assert on, not an exception in the test.
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30) as client:
            yield client


@pytest.fixture
def inprocess_gateway(amqp_url, topology, amqp, tmp_path) -> Callable[..., Any]:
    """`async with inprocess_gateway(**settings) as client:` a gateway app in this process."""

    def start(**overrides: Any) -> Any:
        return serving(gateway_settings(amqp_url, topology, tmp_path, **overrides))

    return start


@pytest_asyncio.fixture
async def broker(amqp_url: str, topology: Topology, amqp: Any) -> AsyncIterator[Broker]:
    """A broker connection with the test's whole topology declared, as the gateway has it.

    It asks for `amqp` so that it is closed before `amqp` deletes the test's topology.
    """
    broker = Broker(amqp_url, topology, name="test-gateway")
    await broker.connect()
    await broker.declare(topology.every_queue())
    yield broker
    await broker.close()


# A plain fixture, so that it may pull in the async session fixture on demand:
# the SQLite cases then never need a PostgreSQL server.
@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        # A folder that does not exist yet: open() must create it.
        return f"sqlite+aiosqlite:///{tmp_path}/var/jobs.db"
    return request.getfixturevalue("postgres_database_url")


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The gateway's database, open and with every table empty."""
    database = gateway_database(database_url)
    await database.open()
    async with database.writes() as conn:
        for table in metadata.sorted_tables:
            await conn.execute(table.delete())
    yield database
    await database.close()
