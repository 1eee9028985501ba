"""A consumer process dies: nothing is lost, nothing is done twice, poison stops looping.

The ledger service writes one line per effect, so a test counts exactly:
accepted (confirmed by the broker), done (lines in the ledger), dead-lettered.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections import Counter

import pytest

from contracts.events import EmailRequested
from contracts.topology import Topology
from devtools.ledger_service import ledger_counts
from support.jobs import wait_for_job
from support.scrape import metric
from support.smtp import SlowGoodbyeHandler
from support.watch import publish_events, status_of, watch_dead_letters, watch_status

pytestmark = pytest.mark.slow

HELLO = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}


def an_email(subject: str = "slow") -> EmailRequested:
    return EmailRequested(to=["ada@example.com"], subject=subject, text="ledger entry")


async def publish_all(amqp_url: str, topology: Topology, events: list[EmailRequested]) -> None:
    await publish_events(amqp_url, topology, "email", events)


@pytest.mark.parametrize("prefetch", [1, 10])
async def test_kill_9_mid_task_loses_nothing_and_repeats_nothing(
    prefetch, ledger_service, amqp, amqp_url, topology, tmp_path
):
    status = await watch_status(amqp, topology)
    first = ledger_service(PREFETCH=str(prefetch), SLOW_SECONDS="30")
    accepted = [an_email() for _ in range(25)]
    await publish_all(amqp_url, topology, accepted)

    # Kill it while `prefetch` jobs are in its hands, half done.
    await status.wait_for_count(lambda e: e.type == "job.started", prefetch)
    first.signal(signal.SIGKILL)
    assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL

    second = ledger_service(PREFETCH=str(prefetch), SLOW_SECONDS="0.01")
    for event in accepted:
        await status.wait_for(status_of(event.job_id, "job.succeeded"), timeout=30)

    done = ledger_counts(tmp_path / "ledger")
    expected = {str(event.job_id) for event in accepted}
    lost = expected - done.keys()
    duplicated = {job for job, count in done.items() if count > 1}
    unexpected = done.keys() - expected
    assert (lost, duplicated, unexpected) == (set(), set(), set())
    # The jobs the dead process held came back marked as redeliveries, and were counted.
    assert metric(second, "offload_duplicates_total", service="email", kind="possible") == prefetch


async def test_a_message_that_kills_its_consumer_is_dead_lettered_after_the_delivery_limit(
    processes, ledger_service, amqp, amqp_url, topology, tmp_path
):
    limited = Topology(namespace=topology.namespace, delivery_limit=2)
    dead = await watch_dead_letters(amqp, limited, "email")
    status = await watch_status(amqp, limited)
    settings = {"DELIVERY_LIMIT": "2", "PREFETCH": "1"}
    current = [ledger_service(**settings)]
    restarts = 0

    # A supervisor, as compose or systemd would be: restart the service when it dies.
    stop = threading.Event()

    def supervise() -> None:
        nonlocal restarts
        while not stop.wait(0.1):
            if current[-1].poll() is not None:
                restarts += 1
                current.append(ledger_service(wait=False, **settings))

    supervisor = threading.Thread(target=supervise, daemon=True)
    supervisor.start()
    try:
        poison = an_email("crash")
        await publish_all(amqp_url, limited, [poison])
        letter = await dead.wait_for(lambda m: m.message_id == str(poison.message_id), timeout=60)
        # Other work flows again once the poison is out of the way.
        healthy = [an_email() for _ in range(5)]
        await publish_all(amqp_url, limited, healthy)
        for event in healthy:
            await status.wait_for(status_of(event.job_id, "job.succeeded"), timeout=30)
    finally:
        stop.set()
        supervisor.join()

    [death] = letter.headers["x-death"]
    assert death["reason"] == "delivery_limit"
    # The first delivery and `delivery_limit` redeliveries, each a crash; then the
    # broker stopped handing it out.
    assert restarts == 3
    assert ledger_counts(tmp_path / "ledger") == Counter(str(event.job_id) for event in healthy)


@pytest.mark.parametrize("grace", ["10", "0.05"], ids=["finishes-in-flight", "requeues-in-flight"])
async def test_sigterm_under_load_loses_nothing_and_repeats_nothing(
    grace, ledger_service, amqp, amqp_url, topology, tmp_path
):
    status = await watch_status(amqp, topology)
    first = ledger_service(PREFETCH="10", SLOW_SECONDS="0.2", SHUTDOWN_GRACE=grace)
    accepted = [an_email() for _ in range(150)]
    await publish_all(amqp_url, topology, accepted)

    await status.wait_for_count(lambda e: e.type == "job.succeeded", 20)
    first.signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 30) == 0, first.output()

    ledger_service(PREFETCH="10", SLOW_SECONDS="0.01")
    for event in accepted:
        await status.wait_for(status_of(event.job_id, "job.succeeded"), timeout=30)
    done = ledger_counts(tmp_path / "ledger")
    assert done == Counter(str(event.job_id) for event in accepted)


async def test_a_gateway_killed_between_commit_and_publish_loses_nothing(gateway, ledger_service, tmp_path):
    database = f"sqlite+aiosqlite:///{tmp_path}/gateway-jobs.db"
    # No broker reachable: every accepted job waits in the outbox.
    cut_off = gateway(wait_for="degraded", AMQP_URL="amqp://guest:guest@127.0.0.1:1/", DATABASE_URL=database)
    body = {"to": ["ada@example.com"], "subject": "s", "text": "t"}
    accepted = [cut_off.post("/v1/emails", json=body) for _ in range(30)]
    assert {response.status_code for response in accepted} == {202}
    cut_off.process.signal(signal.SIGKILL)
    await asyncio.to_thread(cut_off.process.wait, 10)

    # The next gateway on the same database publishes what the first one accepted.
    ledger_service()
    client = gateway(DATABASE_URL=database)
    expected = {response.json()["job_id"] for response in accepted}
    for job_id in expected:
        await asyncio.to_thread(wait_for_job, client, job_id, "succeeded")
    assert ledger_counts(tmp_path / "ledger") == Counter(expected)


async def test_kill_9_inside_the_smtp_send_window_repeats_each_mail_at_most_once_and_counts_it(
    gateway, email_service, smtp_server
):
    stalling = SlowGoodbyeHandler()
    _, smtp_port = smtp_server(stalling)
    first = email_service(smtp_port, PREFETCH="10")
    client = gateway()
    jobs = [client.post("/v1/emails", json={**HELLO, "subject": f"mail {n}"}).json()["job_id"] for n in range(5)]

    # Every mail is delivered, and its sender waits for the server's goodbye:
    # the send window, between the effect and the record of it.
    deadline = time.monotonic() + 15
    while stalling.held < len(jobs):
        assert time.monotonic() < deadline, f"only {stalling.held} sends reached the server"
        await asyncio.sleep(0.05)
    first.signal(signal.SIGKILL)
    await asyncio.to_thread(first.wait, 10)
    stalling.release.set()

    second = email_service(smtp_port, PREFETCH="10")
    for job_id in jobs:
        await asyncio.to_thread(wait_for_job, client, job_id, "succeeded")

    copies = Counter(mail.message["Message-ID"] for mail in stalling.received)
    assert set(copies) == {f"<{job_id}@offload.local>" for job_id in jobs}  # lost: none
    # Each mail held at the kill went out twice (once per kill), under one
    # Message-ID, so the receiving side can tell ...
    assert list(copies.values()) == [2] * len(jobs)
    # ... and each redelivery that could repeat a send was counted.
    assert metric(second, "offload_duplicates_total", service="email", kind="possible") == len(jobs)
