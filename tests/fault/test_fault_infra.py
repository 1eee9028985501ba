"""The fault-test tools themselves: a throwaway node that dies and comes back, and a proxy that breaks links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection
from aio_pika.tools import CallbackCollection

from devtools.rabbit_node import RabbitNode, rabbitmq_installed
from support.tcp_proxy import TcpProxy

HEARTBEAT = 2
# aiormq drops a link once no frame has arrived for 3 * (heartbeat + 1) s,
# checking every max(1, heartbeat // 2) s. Counted from the stall, detection
# therefore lands anywhere up to one check past that figure (9.0 to 10.0 s
# measured here with heartbeat 2), so the bound adds one check and a second
# of scheduling slack for a busy machine.
_HEARTBEAT_CHECK = max(1, HEARTBEAT // 2)
STALL_DETECTION_BOUND = 3 * (HEARTBEAT + 1) + _HEARTBEAT_CHECK + 1


@pytest.fixture(scope="module")
def steady_broker() -> Iterator[RabbitNode]:
    """One node for the proxy tests: they break only the link, never the broker."""
    if not rabbitmq_installed():
        pytest.skip("fault tests start their own RabbitMQ node: rabbitmq-server is not installed here")
    with RabbitNode() as node:
        yield node


@pytest.fixture
async def proxy(steady_broker: RabbitNode) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", steady_broker.port)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def proxied(proxy: TcpProxy) -> AsyncIterator[AbstractRobustConnection]:
    """A robust connection through the proxy, quick to notice a dead link and to reconnect."""
    connection = await aio_pika.connect_robust(
        f"amqp://guest:guest@127.0.0.1:{proxy.port}/?heartbeat={HEARTBEAT}&reconnect_interval=0.5"
    )
    yield connection
    await connection.close()


async def publish(channel: AbstractChannel, queue: str, body: bytes) -> None:
    """Publish persistently and wait for the broker's confirm."""
    message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await channel.default_exchange.publish(message, routing_key=queue)


async def get_within(queue: AbstractQueue, timeout: float) -> bytes:
    """The next message on `queue`, polled until it turns up or `timeout` passes."""
    async with asyncio.timeout(timeout):
        # no_ack: an ack still in flight when a test breaks the link would
        # be lost, and the message come back on the next get.
        while (message := await queue.get(no_ack=True, fail=False)) is None:
            await asyncio.sleep(0.1)
    return message.body


def event_on(callbacks: CallbackCollection) -> asyncio.Event:
    """An event set the first time the connection fires these callbacks."""
    event = asyncio.Event()
    callbacks.add(lambda *_: event.set())
    return event


async def test_persistent_message_on_a_quorum_queue_survives_kill_and_restart(
    fault_broker: RabbitNode, record_property: pytest.RecordProperty
) -> None:
    connection = await aio_pika.connect(fault_broker.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue("survivor", durable=True, arguments={"x-queue-type": "quorum"})
        await publish(channel, "survivor", b"confirmed before the crash")

    await asyncio.to_thread(fault_broker.kill)
    assert not fault_broker.accepts_amqp()
    started = time.monotonic()
    await asyncio.to_thread(fault_broker.restart)
    record_property("restart_seconds", round(time.monotonic() - started, 2))

    connection = await aio_pika.connect(fault_broker.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("survivor", passive=True)
        assert await get_within(queue, timeout=15) == b"confirmed before the crash"


async def test_stop_app_drops_connections_and_start_app_brings_them_back(fault_broker: RabbitNode) -> None:
    connection = await aio_pika.connect_robust(f"{fault_broker.amqp_url}?reconnect_interval=0.5")
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("bounced", durable=True)
        closed = event_on(connection.close_callbacks)
        reconnected = event_on(connection.reconnect_callbacks)

        await asyncio.to_thread(fault_broker.stop_app)
        async with asyncio.timeout(10):
            await closed.wait()
        with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
            await aio_pika.connect(fault_broker.amqp_url, timeout=5)

        await asyncio.to_thread(fault_broker.start_app)
        async with asyncio.timeout(15):
            await reconnected.wait()
        await publish(channel, queue.name, b"after the bounce")
        assert await get_within(queue, timeout=5) == b"after the bounce"


async def test_robust_connection_reconnects_after_the_proxy_cuts_it(
    proxy: TcpProxy, proxied: AbstractRobustConnection
) -> None:
    channel = await proxied.channel()
    queue = await channel.declare_queue("cut", auto_delete=False)
    await publish(channel, queue.name, b"before the cut")
    assert await get_within(queue, timeout=5) == b"before the cut"
    reconnected = event_on(proxied.reconnect_callbacks)

    await proxy.disconnect_all()
    async with asyncio.timeout(15):
        await reconnected.wait()

    assert proxy.connections_accepted == 2
    await publish(channel, queue.name, b"after the cut")
    assert await get_within(queue, timeout=5) == b"after the cut"


async def test_a_stalled_link_is_noticed_by_heartbeats(
    proxy: TcpProxy, proxied: AbstractRobustConnection, record_property: pytest.RecordProperty
) -> None:
    channel = await proxied.channel()
    queue = await channel.declare_queue("stalled", auto_delete=False)
    closed = event_on(proxied.close_callbacks)
    loop = asyncio.get_running_loop()

    started = loop.time()
    proxy.stall()
    async with asyncio.timeout(6 * (HEARTBEAT + 1)):
        await closed.wait()
    detected_after = loop.time() - started
    record_property("stall_detected_after_seconds", round(detected_after, 2))
    assert not proxied.connected.is_set()
    assert detected_after < STALL_DETECTION_BOUND

    reconnected = event_on(proxied.reconnect_callbacks)
    proxy.resume()
    async with asyncio.timeout(15):
        await reconnected.wait()
    await publish(channel, queue.name, b"after the stall")
    assert await get_within(queue, timeout=5) == b"after the stall"
