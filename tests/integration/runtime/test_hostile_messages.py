"""Messages built to break a consumer are refused on their first delivery, before any work is done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts import headers
from contracts.events import EmailRequested
from contracts.topology import Topology
from runtime import JobContext
from runtime.broker import Broker
from support.inprocess import running, service_settings
from support.watch import publish_raw, status_of, watch_dead_letters, watch_status


@pytest.fixture(autouse=True)
async def email_queues(amqp_url: str, topology: Topology, amqp) -> None:
    """The email queues exist before anything is published to them."""
    broker = Broker(amqp_url, topology, name="test-hostile")
    await broker.connect()
    try:
        await broker.declare(topology.service("email").all())
    finally:
        await broker.close()


class Recording:
    """An email handler that only notes which jobs it was asked to do."""

    def __init__(self) -> None:
        self.jobs: list[Any] = []

    async def __call__(self, event: EmailRequested, job: JobContext) -> dict[str, Any]:
        self.jobs.append(event.job_id)
        return {}


def an_email() -> EmailRequested:
    return EmailRequested(to=["ada@example.com"], subject="Hello", text="Hi Ada")


def deeply_nested(event: EmailRequested, levels: int) -> bytes:
    body = event.model_dump_json().encode()
    return body[:-1] + b',"extra":' + b"[" * levels + b"]" * levels + b"}"


async def publish(amqp, topology: Topology, body: bytes, message_id: str, **properties: Any) -> None:
    await publish_raw(
        amqp,
        topology.events.name,
        "email.requested",
        body,
        message_id=message_id,
        content_type="application/json",
        **properties,
    )


async def refused_at_once(amqp, amqp_url, topology, tmp_path: Path, body: bytes, **properties: Any):
    """Publish one hostile message, then a good one; the hostile one's dead letter and job report."""
    dead = await watch_dead_letters(amqp, topology, "email")
    status = await watch_status(amqp, topology)
    handler = Recording()
    job_id = json.loads(body[: body.index(b',"extra"')] + b"}")["job_id"] if b'"extra"' in body else None
    async with running(handler, service_settings(amqp_url, topology, tmp_path)):
        await publish(amqp, topology, body, "hostile", **properties)
        letter = await dead.wait_for(lambda m: m.message_id == "hostile")
        good = an_email()
        await publish(amqp, topology, good.model_dump_json().encode(), "good")
        await status.wait_for(status_of(good.job_id, "job.succeeded"))
    # Dead-lettered by the consumer on its first delivery: never redelivered, never run.
    assert letter.headers[headers.REASON] == "invalid_message"
    assert "x-delivery-count" not in letter.headers and "x-death" not in letter.headers
    assert letter.body == body
    assert handler.jobs == [good.job_id]
    return letter, status, job_id


async def test_a_message_nested_100000_deep_is_refused_on_its_first_delivery(amqp, amqp_url, topology, tmp_path):
    event = an_email()
    letter, status, _ = await refused_at_once(amqp, amqp_url, topology, tmp_path, deeply_nested(event, 100_000))

    assert "nested 100001 levels deep; at most 64" in letter.headers[headers.ERROR_MESSAGE]
    # Its job learns why, although its body is too deep to parse.
    report = await status.wait_for(status_of(event.job_id, "job.dead_lettered"))
    assert report.reason == "invalid_message" and "nested" in report.error.message


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (headers.REPLAYS, "abc"),
        (headers.REPLAYS, -5),
        (headers.REPLAYS, "100000000000000000000"),
        (headers.REPLAYS, 2**62),
        (headers.REPLAYS, 1.5),
        (headers.ATTEMPT, "2"),
        (headers.HISTORY, 7),
    ],
)
async def test_a_message_with_a_bad_header_is_refused_before_its_handler_runs(
    amqp, amqp_url, topology, tmp_path, header, value
):
    event = an_email()
    body = event.model_dump_json().encode()
    letter, status, _ = await refused_at_once(amqp, amqp_url, topology, tmp_path, body, headers={header: value})

    assert f"headers: {header}" in letter.headers[headers.ERROR_MESSAGE]
    report = await status.wait_for(status_of(event.job_id, "job.dead_lettered"))
    assert report.reason == "invalid_message" and report.replay == 0


@pytest.mark.parametrize("attempt", [b"1e30", b"100000000000000000000", b"1001"])
async def test_a_message_with_an_attempt_out_of_bounds_is_refused(amqp, amqp_url, topology, tmp_path, attempt):
    event = an_email()
    body = event.model_dump_json().encode().replace(b'"attempt":1', b'"attempt":' + attempt)
    letter, status, _ = await refused_at_once(amqp, amqp_url, topology, tmp_path, body)

    assert letter.headers[headers.ERROR_MESSAGE].startswith("attempt: ")
    report = await status.wait_for(status_of(event.job_id, "job.dead_lettered"))
    assert report.attempt == 1
