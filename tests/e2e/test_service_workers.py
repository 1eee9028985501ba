"""A service run as worker processes under one supervisor (WORKERS, --workers), as an operator runs it.

The supervisor and its workers are real processes on the real broker. The tests
look from outside, as an operator would: consumers on the queue (the broker's
own count), jobs finished (their status events, the ledger's lines), the one
health port, and processes present or gone (/proc).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from contracts.events import EmailRequested
from devtools.ledger_service import ledger_counts
from devtools.processes import ROOT, free_port
from runtime.supervisor import START_ATTEMPTS, STOP_MARGIN
from support.process_tree import children_of, is_gone, wait_until
from support.scrape import metric
from support.system import broker_env
from support.watch import consumer_count, publish_events, status_of, watch_status

pytestmark = pytest.mark.slow

WORKERS = 2
UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def an_email() -> EmailRequested:
    return EmailRequested(to=["ada@example.com"], subject="Hello", text="Hi Ada")


def log_lines(output: str) -> list[dict[str, Any]]:
    """The JSON log lines in a supervisor's output, its workers' included (they share it)."""
    lines = []
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a traceback, or the command's one-line error
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


def answers(url: str, status: int) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == status
    except httpx.TransportError:
        return False


async def test_two_workers_share_the_queue_and_finish_every_job(
    email_service, smtp_server, amqp, amqp_url, topology
) -> None:
    smtp, smtp_port = smtp_server()
    status = await watch_status(amqp, topology)
    # Started with the option; the fixture waits for /readyz: every worker attached.
    service = email_service(smtp_port, args=["--workers", str(WORKERS)])

    assert httpx.get(service.health_url).json()["checks"] == {"worker-1": True, "worker-2": True}
    assert len(children_of(service.pid)) == WORKERS
    assert await consumer_count(amqp, topology.service("email").work.name) == WORKERS
    emails = [an_email() for _ in range(40)]
    await publish_events(amqp_url, topology, "email", emails)
    for email in emails:
        await status.wait_for(status_of(email.job_id, "job.succeeded"), timeout=30)

    assert len(smtp.received) == len(emails)
    # One /metrics for the service, adding up its workers' counts (the counter
    # moves a moment after the status event is confirmed).
    await wait_until(
        lambda: metric(service, "offload_messages_total", service="email", outcome="succeeded") == len(emails),
        "every job counted at the supervisor's /metrics",
    )
    assert metric(service, "offload_consumer_attached", service="email") == WORKERS
    assert metric(service, "offload_in_flight", service="email") == 0
    lines = log_lines(service.output())
    assert {line.get("worker") for line in lines if line["event"] == "service ready"} == {1, 2}
    # The workers share the service's SQLite inbox: every job's record was written.
    assert not [line for line in lines if line["event"] == "requeued: outcome not recorded"]


async def test_not_ready_while_its_workers_are_not_attached(service_process) -> None:
    service = service_process(
        "email_service", "email", {"AMQP_URL": UNREACHABLE_BROKER}, wait=False, args=["--workers", str(WORKERS)]
    )
    assert service.health_url is not None
    healthz = service.health_url.replace("/readyz", "/healthz")

    await wait_until(
        lambda: answers(healthz, 200) and len(children_of(service.pid)) == WORKERS,
        "the supervisor serving its health port, with both workers running",
    )

    answer = httpx.get(service.health_url)
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"worker-1": False, "worker-2": False}


async def test_a_killed_worker_is_started_again_and_jobs_keep_flowing(
    ledger_service, amqp, amqp_url, topology, tmp_path
) -> None:
    status = await watch_status(amqp, topology)
    service = ledger_service(WORKERS=str(WORKERS))
    assert service.health_url is not None
    first = children_of(service.pid)
    victim = min(first)

    os.kill(victim, signal.SIGKILL)

    await wait_until(lambda: answers(service.health_url, 503), "not ready while a worker is missing", timeout=10)
    await wait_until(
        lambda: answers(service.health_url, 200) and len(children_of(service.pid)) == WORKERS,
        "a new worker in the dead one's place, attached",
    )
    replaced = children_of(service.pid)
    assert victim not in replaced and first - {victim} <= replaced
    assert await consumer_count(amqp, topology.service("email").work.name) == WORKERS
    emails = [an_email() for _ in range(20)]
    await publish_events(amqp_url, topology, "email", emails)
    for email in emails:
        await status.wait_for(status_of(email.job_id, "job.succeeded"), timeout=30)
    assert ledger_counts(tmp_path / "ledger") == Counter(str(email.job_id) for email in emails)
    died = [line for line in log_lines(service.output()) if line["event"] == "worker died, starting it again"]
    assert [(line["pid"], line["exit"]) for line in died] == [(victim, "signal SIGKILL")]


async def test_sigterm_stops_every_worker_within_the_grace_and_loses_no_job(
    ledger_service, amqp, amqp_url, topology, tmp_path
) -> None:
    status = await watch_status(amqp, topology)
    grace = 2.0
    service = ledger_service(WORKERS=str(WORKERS), PREFETCH="2", SLOW_SECONDS="120", SHUTDOWN_GRACE=str(grace))
    workers = children_of(service.pid)
    emails = [an_email() for _ in range(6)]
    await publish_events(amqp_url, topology, "email", emails)
    # Two jobs in each worker's hands, far from done; two more wait in the queue.
    await status.wait_for_count(lambda event: event.type == "job.started", 2 * WORKERS, timeout=30)

    stopping = time.monotonic()
    service.signal(signal.SIGTERM)

    assert await asyncio.to_thread(service.wait, grace + 2 * STOP_MARGIN) == 0, service.output()
    # The workers stopped of themselves, within the grace: none had to be killed.
    assert time.monotonic() - stopping < grace + STOP_MARGIN
    assert all(is_gone(pid) for pid in workers)
    stopped = [line for line in log_lines(service.output()) if line["event"] == "worker stopped"]
    assert sorted((line["worker"], line["exit"]) for line in stopped) == [(1, "exit code 0"), (2, "exit code 0")]
    assert ledger_counts(tmp_path / "ledger") == Counter()
    # The jobs in hand were requeued: one quick worker now finishes all six, each once.
    ledger_service(SLOW_SECONDS="0.01")
    for email in emails:
        await status.wait_for(status_of(email.job_id, "job.succeeded"), timeout=30)
    assert ledger_counts(tmp_path / "ledger") == Counter(str(email.job_id) for email in emails)


async def test_killing_the_supervisor_takes_its_workers_with_it(ledger_service, amqp, topology, tmp_path) -> None:
    # Killed, the supervisor cannot remove its metrics directory: it is left in the test's.
    service = ledger_service(WORKERS=str(WORKERS), TMPDIR=str(tmp_path))
    workers = children_of(service.pid)
    assert len(workers) == WORKERS
    queue = topology.service("email").work.name

    service.signal(signal.SIGKILL)

    await wait_until(lambda: all(is_gone(pid) for pid in workers), "every worker gone", timeout=10)

    async def no_consumer_left() -> bool:
        return await consumer_count(amqp, queue) == 0

    await wait_until(no_consumer_left, "no consumer left on the queue", timeout=10)


def run_service(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    """`python -m email_service ARGS` to its end: the finished process, and how long it took."""
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "email_service", *args],
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "json", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return finished, time.monotonic() - started


# Each worker start imports the whole runtime: seconds apiece on a loaded machine.
@pytest.mark.timeout(300)
def test_a_worker_that_cannot_start_makes_the_supervisor_give_up(amqp_url, topology) -> None:
    # Read by each worker as it opens its inbox, never by the supervisor.
    env = {
        **broker_env(amqp_url, topology),
        "INBOX_URL": "mysql://nowhere/inbox",
        "HEALTH_PORT": str(free_port()),
        "HEALTH_HOST": "127.0.0.1",
    }

    finished, _ = run_service("--workers", str(WORKERS), env=env, timeout=240)

    assert finished.returncode == 1
    errors = [line for line in finished.stderr.splitlines() if line.startswith("error:")]
    assert errors == [finished.stderr.strip().splitlines()[-1]]
    assert f"died before it was ready {START_ATTEMPTS} times in a row (last: exit code 1); gave up" in errors[0]
    # Given up, not looping: each worker was started at most START_ATTEMPTS times.
    starts = Counter(line["worker"] for line in log_lines(finished.stderr) if line["event"] == "worker started")
    assert set(starts) == {1, 2} and max(starts.values()) <= START_ATTEMPTS


def test_a_taken_health_port_stops_the_supervisor_before_any_worker_starts(amqp_url, topology) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**broker_env(amqp_url, topology), "HEALTH_PORT": str(port), "HEALTH_HOST": "127.0.0.1"}

        finished, took = run_service("--workers", str(WORKERS), env=env)

    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port} (HEALTH_PORT={port}): address already in use"
    ]
    assert took < 30
