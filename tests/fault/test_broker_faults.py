"""The broker goes away (stopped, killed, cut off, stalled): accepted work still gets done, once.

Each test runs the gateway and a service against a throwaway RabbitMQ node
and counts with a ledger: every job the gateway accepted (202) must end as
exactly one effect in the ledger.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from contracts.events import EmailRequested
from devtools.processes import Process
from devtools.rabbit_node import RabbitNode
from runtime.broker import Broker, PublishError
from support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

HELLO = {"to": ["ada@example.com"], "subject": "ledger", "text": "one effect, please"}


@dataclass
class Load:
    """What a client saw while driving the gateway."""

    accepted: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    # (sent, answered) of each accepted request, on the monotonic clock.
    answered: list[tuple[float, float]] = field(default_factory=list)
    # When each request still waiting for its answer was sent.
    waiting: dict[int, float] = field(default_factory=dict)

    async def settled(self, sent_before: float, timeout: float) -> None:
        """Wait until every request sent before `sent_before` has its answer."""
        deadline = time.monotonic() + timeout
        while late := [sent for sent in self.waiting.values() if sent < sent_before]:
            assert time.monotonic() < deadline, f"{len(late)} requests unanswered after {timeout}s"
            await asyncio.sleep(0.1)


async def drive(base_url: str, rate: float, seconds: float, load: Load | None = None) -> Load:
    """POST jobs at `rate` per second for `seconds`.

    Each request may take 30 s: a request that fails is a refusal by the
    gateway, not a loaded machine being slow.
    """
    load = load or Load()

    async def post(client: httpx.AsyncClient, n: int) -> None:
        sent = load.waiting[n] = time.monotonic()
        try:
            response = await client.post("/v1/emails", json=HELLO)
        except httpx.HTTPError as error:
            load.failures[type(error).__name__] += 1
            return
        finally:
            del load.waiting[n]
        if response.status_code == 202:
            load.accepted.append(response.json()["job_id"])
            load.answered.append((sent, time.monotonic()))
        else:
            load.failures[str(response.status_code)] += 1

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        requests = []
        begin = time.monotonic()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, begin + n / rate - time.monotonic()))
            requests.append(asyncio.create_task(post(client, n)))
        await asyncio.gather(*requests)
    return load


def ledger(path: Path) -> Counter[str]:
    return Counter(path.read_text().split()) if path.exists() else Counter()


async def wait_for_ledger(path: Path, expected: set[str], timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while not expected <= (done := ledger(path)).keys():
        assert time.monotonic() < deadline, f"{len(expected - done.keys())} accepted jobs never done"
        await asyncio.sleep(0.2)
    return done


def assert_each_done_once(done: Counter[str], accepted: list[str]) -> None:
    expected = set(accepted)
    lost = expected - done.keys()
    duplicated = {job for job, count in done.items() if count > 1}
    unexpected = done.keys() - expected
    assert (len(lost), len(duplicated), len(unexpected)) == (0, 0, 0), (lost, duplicated, unexpected)


async def seconds_until_ready(process: Process, timeout: float) -> float:
    assert process.health_url is not None
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() - started < timeout:
            try:
                if (await client.get(process.health_url)).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"not ready within {timeout}s")


async def test_broker_stopped_for_10s_under_200_requests_per_second(
    fault_broker: RabbitNode, gateway, ledger_service, tmp_path
):
    client = gateway(AMQP_URL=fault_broker.amqp_url)
    service = ledger_service(AMQP_URL=fault_broker.amqp_url, AMQP_HEARTBEAT="2")

    down: dict[str, float] = {}
    load = Load()

    async def outage() -> float:
        await asyncio.sleep(3)
        await asyncio.to_thread(fault_broker.stop_app)
        down["since"] = time.monotonic()
        await asyncio.sleep(10)
        down["until"] = time.monotonic()
        # The broker stays down until every request sent so far is answered.
        # Were accepting to wait for the broker, they never would be; a loaded
        # machine only makes them slow (one took 7 s under a busy core).
        await load.settled(sent_before=down["until"], timeout=60)
        down["restarting"] = time.monotonic()
        await asyncio.to_thread(fault_broker.start_app)
        return await seconds_until_ready(service, timeout=30)

    _, restored_after = await asyncio.gather(drive(str(client.base_url), 200, 16, load), outage())

    # No request failed: the gateway kept accepting into its outbox.
    assert load.failures == Counter()
    assert len(load.accepted) == 200 * 16
    # Nor did any wait for the broker: each request sent while it was down
    # was answered before it came back.
    answered_while_down = [done for sent, done in load.answered if down["since"] <= sent < down["until"]]
    assert answered_while_down, "no request was sent during the outage"
    assert max(answered_while_down) <= down["restarting"]
    assert restored_after <= 15, f"the service's consumer came back after {restored_after:.1f}s"
    done = await wait_for_ledger(tmp_path / "ledger", set(load.accepted), timeout=90)
    assert_each_done_once(done, load.accepted)


async def test_broker_killed_and_restarted_loses_no_accepted_job(
    fault_broker: RabbitNode, gateway, ledger_service, tmp_path
):
    client = gateway(AMQP_URL=fault_broker.amqp_url)
    ledger_service(AMQP_URL=fault_broker.amqp_url, AMQP_HEARTBEAT="2", SLOW_SECONDS="0.02")

    async def crash() -> None:
        await asyncio.sleep(2)
        await asyncio.to_thread(fault_broker.kill)
        await asyncio.sleep(2)
        await asyncio.to_thread(fault_broker.restart)

    load, _ = await asyncio.gather(drive(str(client.base_url), 100, 8), crash())

    assert load.failures == Counter()
    done = await wait_for_ledger(tmp_path / "ledger", set(load.accepted), timeout=90)
    assert_each_done_once(done, load.accepted)


async def test_a_cut_connection_is_survived(fault_broker: RabbitNode, gateway, ledger_service, tmp_path):
    proxy = TcpProxy("127.0.0.1", fault_broker.port)
    port = await proxy.start()
    try:
        client = gateway(AMQP_URL=fault_broker.amqp_url)
        # Started from a thread: waiting for it here would block the loop the proxy runs on.
        service = await asyncio.to_thread(
            ledger_service, AMQP_URL=f"amqp://guest:guest@127.0.0.1:{port}/", AMQP_HEARTBEAT="2"
        )

        async def cuts() -> None:
            for _ in range(3):
                await asyncio.sleep(2.5)
                await proxy.disconnect_all()

        load, _ = await asyncio.gather(drive(str(client.base_url), 50, 9), cuts())
        await seconds_until_ready(service, timeout=15)
        done = await wait_for_ledger(tmp_path / "ledger", set(load.accepted), timeout=60)
    finally:
        await proxy.close()

    assert load.failures == Counter()
    assert proxy.connections_accepted >= 4  # the first connection and one per cut
    assert_each_done_once(done, load.accepted)


async def test_a_stalled_connection_is_detected_within_the_heartbeat_bound(
    fault_broker: RabbitNode, gateway, ledger_service, tmp_path
):
    heartbeat = 2
    proxy = TcpProxy("127.0.0.1", fault_broker.port)
    port = await proxy.start()
    try:
        client = gateway(AMQP_URL=fault_broker.amqp_url)
        service = await asyncio.to_thread(
            ledger_service, AMQP_URL=f"amqp://guest:guest@127.0.0.1:{port}/", AMQP_HEARTBEAT=str(heartbeat)
        )
        assert service.health_url is not None
        before = [(await asyncio.to_thread(client.post, "/v1/emails", json=HELLO)).json()["job_id"] for _ in range(10)]
        await wait_for_ledger(tmp_path / "ledger", set(before), timeout=30)

        # Black-hole the link: no FIN, no RST, just silence.
        proxy.stall()
        stalled_at = time.monotonic()
        async with httpx.AsyncClient(timeout=1) as http:
            while (await http.get(service.health_url)).status_code == 200:
                assert time.monotonic() - stalled_at < 3 * (heartbeat + 1) + 2, "the stall went unnoticed"
                await asyncio.sleep(0.1)
        detected_after = time.monotonic() - stalled_at
        during = [(await asyncio.to_thread(client.post, "/v1/emails", json=HELLO)).json()["job_id"] for _ in range(10)]
        proxy.resume()

        await seconds_until_ready(service, timeout=30)
        done = await wait_for_ledger(tmp_path / "ledger", set(before + during), timeout=60)
    finally:
        await proxy.close()

    # The readiness probe reads the watchdog's view, which may lag by one round.
    assert detected_after <= 3 * (heartbeat + 1) + 2
    assert_each_done_once(done, before + during)


async def test_sigterm_while_the_broker_is_away_still_exits_promptly(fault_broker: RabbitNode, ledger_service):
    service = ledger_service(AMQP_URL=fault_broker.amqp_url, AMQP_HEARTBEAT="2")
    await asyncio.to_thread(fault_broker.stop_app)

    started = time.monotonic()
    exit_code = await asyncio.to_thread(service.stop, 30)

    assert exit_code == 0
    assert time.monotonic() - started < 10


async def test_a_publish_during_an_outage_fails_within_its_timeout(fault_broker: RabbitNode, topology):
    broker = Broker(fault_broker.amqp_url, topology, name="outage-publisher", publish_timeout=2)
    await broker.connect()
    await broker.declare(topology.service("email").all())
    await asyncio.to_thread(fault_broker.stop_app)
    try:
        started = time.monotonic()
        with pytest.raises(PublishError):
            await broker.publish(EmailRequested(to=["ada@example.com"], subject="s", text="t"))
        assert time.monotonic() - started < 2 + 1
    finally:
        await broker.close()
