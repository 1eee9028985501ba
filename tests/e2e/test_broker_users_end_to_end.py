"""The system run with a broker user per role, as compose runs it: only services change jobs.

The users are made for the test's namespace with `devtools.broker_users` (the
same definitions compose loads) and deleted afterwards. The test's own user
(guest) stands for a user with broad permissions that the broker lets through:
the gateway must still not believe it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused, ChannelPreconditionFailed

from contracts.events import EmailRequested, JobStarted, JobSucceeded, TaskType
from contracts.permissions import PUBLISHER, ROLES, user_name
from contracts.topology import Topology
from devtools import broker_users
from runtime.broker import Broker
from support.jobs import wait_for_job
from support.smtp import PickyHandler, RecordingHandler

HELLO = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}


@pytest.fixture
def role_urls(amqp_url: str, topology: Topology) -> Iterator[dict[str, str]]:
    """Each role's AMQP URL, its user created for this test's namespace alone."""
    vhost = unquote(urlsplit(amqp_url).path[1:]) or "/"
    broker_users.create(topology.namespace, vhost)
    try:
        yield {role: broker_users.role_url(amqp_url, topology.namespace, role) for role in ROLES}
    finally:
        broker_users.delete(topology.namespace)


async def publish_as(url: str, topology: Topology, routing_key: str, body: bytes, **properties: Any) -> None:
    """One confirmed publish on the events exchange, on a connection of its own."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(topology.events.name)
        message = aio_pika.Message(body, content_type="application/json", **properties)
        await exchange.publish(message, routing_key)
    finally:
        await connection.close()


async def report_as(url: str, topology: Topology, event: Any) -> None:
    """A status event published by the runtime's Broker (it sets user_id to its user)."""
    broker = Broker(url, topology, name="test-reporter")
    await broker.connect()
    try:
        await broker.declare([])
        await broker.publish(event, mandatory=False)
    finally:
        await broker.close()


def copy(event: Any, **changes: Any) -> Any:
    """Another message with `changes`, under a message id of its own."""
    return event.model_copy(update={**changes, "message_id": uuid.uuid4()})


def refused_letters(client, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The gateway's dead letters, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        letters = client.get("/v1/dead-letters", params={"service": "gateway"}).json()["dead_letters"]
        if len(letters) >= count or time.monotonic() > deadline:
            return letters
        time.sleep(0.2)


def metric(client, name: str, label: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name) and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_only_service_users_change_jobs(gateway, email_service, smtp_server, role_urls, amqp_url, topology):
    _, smtp_port = smtp_server(PickyHandler())
    email_service(smtp_port, AMQP_URL=role_urls["email"])
    # STATUS_PUBLISHERS empty: the default, the namespace's service users.
    client = gateway(AMQP_URL=role_urls["gateway"], STATUS_PUBLISHERS="")

    # (d) Through the gateway and the email service, each as its own user: a job
    # succeeds, one fails for good, one fails until its retries run out.
    done = client.post("/v1/emails", json=HELLO).json()["job_id"]
    refused = client.post("/v1/emails", json={**HELLO, "to": ["nobody@example.com"]}).json()["job_id"]
    busy = client.post("/v1/emails", json={**HELLO, "to": ["busy@example.com"]}).json()["job_id"]
    succeeded = wait_for_job(client, done, "succeeded")
    dead = wait_for_job(client, refused, "dead_lettered")
    exhausted = wait_for_job(client, busy, "dead_lettered", timeout=40)
    assert exhausted["attempts"] > 1

    # A direct publisher, as its own user, may request work.
    direct = EmailRequested(to=["ada@example.com"], subject="Hi", text="direct")
    await publish_as(role_urls[PUBLISHER], topology, direct.type, direct.model_dump_json().encode())
    wait_for_job(client, str(direct.job_id), "succeeded")

    # (a) The publisher's user may not publish a status event at all.
    forged = JobSucceeded(
        job_id=uuid.UUID(dead["job_id"]),
        task_type=TaskType.email,
        service="email",
        attempt=1000,
        replay=1000,
        result={"forged": True},
    )
    with pytest.raises(ChannelAccessRefused, match="job.succeeded"):
        await publish_as(role_urls[PUBLISHER], topology, forged.type, forged.model_dump_json().encode())
    # (b) Nor pass itself off as a service user.
    with pytest.raises(ChannelPreconditionFailed, match="user_id"):
        await publish_as(
            role_urls[PUBLISHER],
            topology,
            direct.type,
            direct.model_dump_json().encode(),
            user_id=user_name(topology.namespace, "email"),
        )

    # (c) A user the broker lets through (guest here) is not believed: not for a
    # finished job, a dead-lettered one, nor a job it invents.
    invented = uuid.uuid4()
    for job_id in (done, refused, str(invented)):
        await report_as(amqp_url, topology, copy(forged, job_id=uuid.UUID(job_id)))
    # (e) A service user is believed for its own service's jobs only.
    analysis = JobStarted(job_id=invented, task_type=TaskType.analysis, service="analytics")
    await report_as(role_urls["email"], topology, analysis)

    letters = refused_letters(client, 4)
    assert len(letters) == 4
    assert {letter["error_type"] for letter in letters} == {"RefusedMessage"}
    assert sum("which is not a service user" in letter["error_message"] for letter in letters) == 3
    assert sum("reports for email only" in letter["error_message"] for letter in letters) == 1
    assert client.get(f"/v1/jobs/{done}").json() == succeeded
    assert client.get(f"/v1/jobs/{refused}").json() == dead
    assert client.get(f"/v1/jobs/{invented}").status_code == 404
    assert metric(client, "offload_status_events_refused_total", 'reason="untrusted_publisher"') == 3
    assert metric(client, "offload_status_events_refused_total", 'reason="other_service"') == 1

    # A service user's event must still be possible: no replay was made of this job.
    await report_as(role_urls["email"], topology, copy(forged, job_id=uuid.UUID(done)))
    await report_as(role_urls["email"], topology, copy(forged, replay=0, attempt=1))
    replaced = wait_for_job(client, refused, "succeeded")
    assert replaced["result"] == {"forged": True}  # believed: the email service's user said so
    assert client.get(f"/v1/jobs/{done}").json() == succeeded


class RefusingUntilFixed(RecordingHandler):
    """Refuses every recipient for good, until `fixed` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.fixed = False

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:  # noqa: ANN001
        if not self.fixed:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"


async def test_a_replay_by_the_gateway_user_is_counted_and_believed(gateway, email_service, smtp_server, role_urls):
    handler = RefusingUntilFixed()
    _, smtp_port = smtp_server(handler)
    email_service(smtp_port, AMQP_URL=role_urls["email"])
    client = gateway(AMQP_URL=role_urls["gateway"], STATUS_PUBLISHERS="")
    job_id = client.post("/v1/emails", json=HELLO).json()["job_id"]
    wait_for_job(client, job_id, "dead_lettered")
    handler.fixed = True

    report = client.post("/v1/dead-letters/email/replay", json={}).json()

    assert len(report["replayed"]) == 1
    # Its events say "replay 1", which the gateway counted before publishing it.
    assert wait_for_job(client, job_id, "succeeded")["error"] is None
