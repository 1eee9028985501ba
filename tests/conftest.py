"""Fixtures every layer shares: the real broker, and a namespace per test.

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

import aio_pika
import pytest
import pytest_asyncio

from contracts.topology import Topology
from support.topology import TEST_RETRY

_RUN_ID = uuid.uuid4().hex[:6]
_counter = itertools.count()


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
