"""The `offload` command and the process entry points, run as an operator runs them.

Each call is a real process (`python -m offload_cli`, the code of the `offload`
script) against the real broker, or against a gateway started by the fixtures.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest

from contracts.topology import Topology
from devtools.processes import ROOT
from runtime.broker import Broker
from support.jobs import wait_for_job
from support.smtp import PickyHandler
from support.system import broker_env
from support.topology import TEST_RETRY

KEY = "cli-test-key-0123456789abcdef"
# A process that cannot bind must say so well within this. Before the fix it
# never exited; on a loaded machine importing the gateway alone takes seconds.
EXIT_WITHIN = 30.0


def run(
    *argv: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def offload(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run("-m", "offload_cli", *args, env=env, stdin=stdin)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket listens on for the whole test."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_the_console_script_is_installed():
    script = Path(sys.executable).with_name("offload")

    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "gateway" in result.stdout and "teardown" in result.stdout


def test_python_m_gateway_help_prints_help_and_serves_nothing(taken_port):
    # On the port another socket holds: a gateway that started would fail to bind and exit 1.
    env = {"PORT": str(taken_port), "HOST": "127.0.0.1", "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"}
    started = time.monotonic()

    helped = run("-m", "gateway", "--help", env=env)

    assert helped.returncode == 0, helped.stderr
    assert "Usage: python -m gateway" in helped.stdout
    assert time.monotonic() - started < EXIT_WITHIN
    unknown = run("-m", "gateway", "--port", "9000", env=env)
    assert unknown.returncode == 2
    assert "Usage: python -m gateway" in unknown.stderr


def test_python_m_a_service_with_an_unknown_argument_starts_nothing():
    result = run("-m", "email_service", "--verbose", env={"AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"})

    assert result.returncode == 2
    assert "Usage: python -m email_service" in result.stderr


@pytest.mark.parametrize(
    "module, port_setting, host_setting, database_setting, attempts",
    [
        # The gateway hung on some starts only, as its broker connection raced the bind: a few starts.
        pytest.param("gateway", "PORT", "HOST", "DATABASE_URL", 3, id="gateway"),
        pytest.param("email_service", "HEALTH_PORT", "HEALTH_HOST", "INBOX_URL", 1, id="service-health"),
    ],
)
def test_a_process_whose_port_is_taken_exits_at_once_naming_it(
    module, port_setting, host_setting, database_setting, attempts, taken_port, amqp_url, topology, tmp_path
):
    env = {
        **broker_env(amqp_url, topology),
        port_setting: str(taken_port),
        host_setting: "127.0.0.1",
        database_setting: f"sqlite+aiosqlite:///{tmp_path}/{module}.db",
    }
    for _attempt in range(attempts):
        started = time.monotonic()
        process = run("-m", module, env=env, timeout=EXIT_WITHIN)

        assert process.returncode != 0
        assert f"{port_setting}={taken_port}" in process.stderr and "address already in use" in process.stderr
        assert time.monotonic() - started < EXIT_WITHIN


def test_jobs_are_listed_shown_and_watched_to_their_end(gateway, email_service, smtp_server):
    _, smtp_port = smtp_server(PickyHandler())
    email_service(smtp_port)
    client = gateway(API_KEYS=KEY)
    client.headers["Authorization"] = f"Bearer {KEY}"
    sent = client.post("/v1/emails", json={"to": ["ada@example.com"], "subject": "Hi", "text": "Hi"}).json()["job_id"]
    refused = client.post("/v1/emails", json={"to": ["nobody@example.com"], "subject": "Hi", "text": "Hi"})
    refused = refused.json()["job_id"]
    with_key = {"OFFLOAD_API_KEY": KEY}
    url = ["--url", str(client.base_url)]

    watched = offload("jobs", "watch", sent, *url, env=with_key)

    assert watched.returncode == 0, watched.stderr
    assert f"job {sent} succeeded" in watched.stdout
    assert "recipients" in watched.stdout  # the result
    failed = offload("jobs", "watch", refused, *url, "--api-key", KEY)
    assert failed.returncode == 1
    assert f"job {refused} dead_lettered" in failed.stdout and "550 5.1.1 no such user" in failed.stdout

    listed = offload("jobs", "list", "--status", "succeeded", "--type", "email", *url, env=with_key)
    assert listed.returncode == 0, listed.stderr
    assert sent in listed.stdout and refused not in listed.stdout
    assert "1 of 1 job(s)" in listed.stdout
    page = json.loads(offload("jobs", "list", "--limit", "1", "--offset", "1", "--json", *url, env=with_key).stdout)
    assert (page["total"], page["limit"], page["offset"], len(page["jobs"])) == (2, 1, 1, 1)
    shown = offload("jobs", "show", sent, *url, env=with_key)
    assert shown.returncode == 0
    assert json.loads(shown.stdout) == wait_for_job(client, sent, "succeeded")

    keyless = offload("jobs", "show", sent, *url)
    assert keyless.returncode == 1
    assert keyless.stderr.startswith("error: the gateway wants an API key (401)")
    unknown = offload("jobs", "show", "00000000-0000-0000-0000-000000000000", *url, env=with_key)
    assert unknown.returncode == 1 and "404" in unknown.stderr


def test_jobs_report_a_gateway_that_is_not_there():
    result = offload("jobs", "list", "--url", "http://127.0.0.1:1")

    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the gateway at http://127.0.0.1:1")
    assert "Traceback" not in result.stderr


async def test_teardown_deletes_every_queue_and_exchange_of_a_namespace(amqp, amqp_url, topology):
    broker = Broker(amqp_url, topology, name="cli-teardown-test")
    await broker.connect()
    queues = [*topology.every_queue(TEST_RETRY), *topology.gateway(TEST_RETRY).delays.values()]
    await broker.declare(queues)
    await broker.close()
    env = broker_env(amqp_url, topology)

    declined = offload("teardown", "--namespace", topology.namespace, env=env, stdin="n\n")

    assert declined.returncode == 1
    assert await missing(amqp, topology) == set()
    done = offload("teardown", "--namespace", topology.namespace, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    names = {queue.name for queue in queues} | {exchange.name for exchange in topology.exchanges()}
    assert await missing(amqp, topology) == names


async def missing(connection: aio_pika.abc.AbstractConnection, topology: Topology) -> set[str]:
    """The namespace's queues and exchanges the broker does not know, by passive declares."""
    gone: set[str] = set()
    queues = [queue.name for queue in topology.every_queue(TEST_RETRY)]
    exchanges = [exchange.name for exchange in topology.exchanges()]
    for name in [*queues, *(q.name for q in topology.gateway(TEST_RETRY).delays.values())]:
        async with connection.channel() as channel:
            try:
                await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelNotFoundEntity:
                gone.add(name)
    for name in exchanges:
        async with connection.channel() as channel:
            try:
                await channel.get_exchange(name, ensure=True)
            except aio_pika.exceptions.ChannelNotFoundEntity:
                gone.add(name)
    return gone
