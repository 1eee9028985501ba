"""Fixtures every layer shares: the real broker, a namespace per test, a PostgreSQL database.

The broker is the one at AMQP_URL when it is set; otherwise a RabbitMQ
container is started with testcontainers; with neither, the run stops with a
message (a green run always means the broker tests ran). Each test gets its
own namespace, so its exchanges and queues never meet another test's, and
they are deleted afterwards.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import aio_pika
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from contracts.topology import Topology
from support.topology import TEST_RETRY

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

_RUN_ID = uuid.uuid4().hex[:6]
_counter = itertools.count()


# The layers from slowest to quickest. Tests run side by side (pytest-xdist)
# and are handed out in this order, so the long ones start first and the quick
# ones fill the gaps, instead of a few long ones finishing last. The fault
# tests run one after another on one worker (--dist loadgroup): each boots a
# RabbitMQ node of its own and times an outage, which several at once on a
# loaded machine would turn into a test of the machine.
_LAYER_ORDER = ("fault", "e2e", "integration", "unit")

# The suite's timeout (pyproject.toml) guards against hangs. A fault test boots
# a RabbitMQ node and drives load through an outage: about 80 s here when idle,
# more than twice that seen with the machine loaded.
FAULT_TEST_TIMEOUT = 360


# First among the hooks: pytest-xdist reads the xdist_group marks in a
# collection hook of its own, which must find them already there.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def layer(item: pytest.Item) -> int:
        parts = item.path.parts
        return next((rank for rank, name in enumerate(_LAYER_ORDER) if name in parts), len(_LAYER_ORDER))

    items.sort(key=layer)
    for item in items:
        if "fault" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("fault"))
            item.add_marker(pytest.mark.timeout(FAULT_TEST_TIMEOUT))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop the run when --dist loadgroup did not group the fault tests: they would all run at once, silently."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    ungrouped = [item.nodeid for item in session.items if "fault" in item.path.parts and "@" not in item.nodeid]
    if ungrouped:
        # In a worker, so the run ends as an internal error ("no tests ran"), loudly at least.
        raise pytest.UsageError(
            f"pytest-xdist did not group {len(ungrouped)} fault tests (--dist loadgroup); "
            "check the pytest and pytest-xdist versions against pyproject.toml"
        )


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    url = os.environ.get("AMQP_URL")
    if url:
        yield url
        return
    container = _start_rabbitmq_container()
    try:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(5672)
        yield f"amqp://{container.username}:{container.password}@{host}:{port}/"
    finally:
        container.stop()


def _start_rabbitmq_container():  # noqa: ANN202 - testcontainers types are optional
    try:
        import docker
        from testcontainers.community.rabbitmq import RabbitMqContainer

        docker.from_env().ping()
    except Exception as error:  # no Docker client, daemon or plugin: say so and stop
        pytest.exit(
            "No broker for the tests: set AMQP_URL (for example amqp://guest:guest@127.0.0.1:5672/) "
            f"or make a Docker engine available for testcontainers ({error})",
            returncode=2,
        )
    return RabbitMqContainer("rabbitmq:4-management").start()


@pytest.fixture
def namespace() -> str:
    return f"test-{_RUN_ID}-{next(_counter)}"


@pytest.fixture
def topology(namespace: str) -> Topology:
    return Topology(namespace=namespace)


@pytest_asyncio.fixture
async def amqp(amqp_url: str, topology: Topology) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    """A plain connection for the test itself; deletes the test's topology afterwards."""
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        yield connection
    finally:
        async with connection.channel() as channel:
            for queue in topology.every_queue(TEST_RETRY):
                await channel.queue_delete(queue.name)
            for exchange in topology.exchanges():
                await channel.exchange_delete(exchange.name)
        await connection.close()


@pytest_asyncio.fixture(scope="session")
async def postgres_database_url() -> AsyncIterator[str]:
    """A database of its own for this test session, so runs never share rows."""
    async with _new_postgres_database() as url:
        yield url


@pytest_asyncio.fixture
async def empty_postgres_database_url() -> AsyncIterator[str]:
    """A database of its own for one test, for tests of the schema itself."""
    async with _new_postgres_database() as url:
        yield url


@asynccontextmanager
async def _new_postgres_database() -> AsyncIterator[str]:
    """Create a database on the server at POSTGRES_URL, and drop it afterwards."""
    server = make_url(POSTGRES_URL)
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"timeout": 5})
    name = f"offload_test_{uuid.uuid4().hex[:12]}"
    unreachable: Exception | None = None
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, SQLAlchemyError) as error:
        unreachable = error
    if unreachable is not None:
        await admin.dispose()
        where = server.render_as_string(hide_password=True)
        if os.environ.get("OFFLOAD_SKIP_POSTGRES") == "1":
            pytest.skip(f"OFFLOAD_SKIP_POSTGRES=1 and PostgreSQL at {where} is unreachable")
        pytest.fail(
            f"PostgreSQL at {where} is unreachable ({unreachable!r}). Start it, point "
            "TEST_POSTGRES_URL at one, or set OFFLOAD_SKIP_POSTGRES=1 to skip these tests.",
            pytrace=False,
        )
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
