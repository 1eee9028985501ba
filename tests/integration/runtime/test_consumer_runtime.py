"""The consumer runtime against the real broker: ack, retry, dead-letter, shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from prometheus_client import REGISTRY

from contracts import headers
from contracts.events import EmailRequested, JobStarted, JobStatusEvent, StatusEvent
from contracts.topology import Topology
from runtime import JobContext, PermanentError, ServiceSettings, TransientError
from runtime.broker import Broker, PublishError
from runtime.consumer import Consumer
from runtime.reporting import Silent
from runtime.tries import TriesInHeader
from support.inprocess import running, service_settings
from support.topology import TEST_RETRY
from support.watch import publish_raw, queue_depth, status_of, wait_for_depth, watch_dead_letters, watch_status


class Scripted:
    """A handler that raises what it is told to, in order, then succeeds."""

    def __init__(self, *failures: Exception, block: asyncio.Event | None = None) -> None:
        self.failures = list(failures)
        self.calls: list[EmailRequested] = []
        self.started = asyncio.Event()
        self.block = block

    async def __call__(self, event: EmailRequested, job: JobContext) -> dict[str, Any]:
        self.calls.append(event)
        self.started.set()
        if self.block is not None:
            await self.block.wait()
        if self.failures:
            raise self.failures.pop(0)
        await job.progress(1, 1)
        return {"sent_to": event.to}


@pytest.fixture
def settings(amqp_url: str, topology: Topology, tmp_path: Path) -> Callable[..., ServiceSettings]:
    """Settings for an in-process email service in this test's namespace."""
    return lambda **overrides: service_settings(amqp_url, topology, tmp_path, **overrides)


@pytest.fixture
async def publisher(amqp_url: str, topology: Topology, amqp: AbstractRobustConnection) -> AsyncIterator[Broker]:
    broker = Broker(amqp_url, topology, name="test-publisher")
    await broker.connect()
    await broker.declare(topology.service("email").all())
    yield broker
    await broker.close()


def an_email(**fields: Any) -> EmailRequested:
    return EmailRequested(**{"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada", **fields})


async def test_success_reports_status_and_acks(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    handler = Scripted()
    async with running(handler, settings()):
        event = an_email()
        await publisher.publish(event)
        succeeded = await status.wait_for(status_of(event.job_id, "job.succeeded"))

    assert succeeded.result == {"sent_to": ["ada@example.com"]}
    assert succeeded.service == "email" and succeeded.task_type == "email"
    kinds = [e.type for e in status.seen if e.job_id == event.job_id]
    assert kinds == ["job.started", "job.progressed", "job.succeeded"]
    assert [call.job_id for call in handler.calls] == [event.job_id]
    await wait_for_depth(amqp, topology.service("email").work.name, 0)


async def test_transient_errors_retry_with_backoff_then_succeed(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    handler = Scripted(ConnectionError("smtp down"), TransientError("busy", retry_after=None))
    async with running(handler, settings()):
        event = an_email()
        await publisher.publish(event)
        succeeded = await status.wait_for(status_of(event.job_id, "job.succeeded"))

    assert succeeded.attempt == 3
    assert [call.attempt for call in handler.calls] == [1, 2, 3]
    retries = [e for e in status.seen if e.type == "job.retry_scheduled"]
    assert [(r.attempt, r.retry_in_seconds, r.error.type) for r in retries] == [
        (1, 0.2, "ConnectionError"),
        (2, 0.4, "TransientError"),
    ]
    # Each attempt started no sooner than its delay after the failure before it.
    starts = {e.attempt: e.started_at for e in status.seen if e.type in ("job.retry_scheduled", "job.succeeded")}
    for retry in retries:
        waited = (starts[retry.attempt + 1] - retry.occurred_at).total_seconds()
        assert waited >= retry.retry_in_seconds * 0.9, (retry.attempt, waited)


async def test_permanent_error_is_dead_lettered_with_its_reason(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    dead = await watch_dead_letters(amqp, topology, "email")
    handler = Scripted(PermanentError("550 5.1.1 no such user"))
    async with running(handler, settings()):
        event = an_email()
        await publisher.publish(event)
        letter = await dead.wait_for(lambda m: m.message_id == str(event.message_id))
        report = await status.wait_for(status_of(event.job_id, "job.dead_lettered"))

    assert letter.headers[headers.REASON] == "permanent_error"
    assert letter.headers[headers.ERROR_TYPE] == "PermanentError"
    assert letter.headers[headers.ERROR_MESSAGE] == "550 5.1.1 no such user"
    assert letter.headers[headers.ATTEMPTS] == 1
    assert letter.headers[headers.ROUTING_KEY] == "email.requested"
    assert EmailRequested.model_validate_json(letter.body) == event  # the body, untouched
    assert report.reason == "permanent_error" and report.error.message == "550 5.1.1 no such user"
    assert len(handler.calls) == 1
    assert await queue_depth(amqp, topology.service("email").dead.name) == 1


async def test_retries_exhausted_dead_letters_with_attempt_history(amqp, topology, publisher, settings):
    dead = await watch_dead_letters(amqp, topology, "email")
    handler = Scripted(*(RuntimeError(f"boom {n}") for n in range(1, 10)))
    async with running(handler, settings()):
        event = an_email()
        await publisher.publish(event)
        letter = await dead.wait_for(lambda m: m.message_id == str(event.message_id))

    assert letter.headers[headers.REASON] == "retries_exhausted"
    assert letter.headers[headers.ATTEMPTS] == 3
    assert letter.headers[headers.HISTORY] == [
        "attempt 1: RuntimeError: boom 1",
        "attempt 2: RuntimeError: boom 2",
        "attempt 3: RuntimeError: boom 3",
    ]
    assert len(handler.calls) == 3


@pytest.mark.parametrize(
    ("body", "properties", "expected"),
    [
        (b"not json at all", {"content_type": "application/json"}, "Invalid JSON"),
        (b'{"to": ["ada@example.com"]}', {"content_type": "application/json"}, "must carry message_id, job_id"),
        (
            json.dumps({k: v for k, v in json.loads(an_email().model_dump_json()).items() if k != "subject"}).encode(),
            {"content_type": "application/json"},
            "subject: Field required",
        ),
        (
            an_email().model_dump_json().encode().replace(b"email.requested", b"email.sent"),
            {"content_type": "application/json"},
            "type: Input should be 'email.requested'",
        ),
        (b"", {"content_type": "application/json"}, "Invalid JSON"),
        (an_email().model_dump_json().encode(), {"content_type": "text/plain"}, "is not 'application/json'"),
        (an_email().model_dump_json().encode(), {}, "content type None"),
        (b"\xff\xfe\x00garbage", {"content_type": "application/json"}, "Invalid JSON"),
    ],
    ids=[
        "not-json",
        "no-envelope",
        "wrong-schema",
        "unknown-type",
        "empty",
        "wrong-content-type",
        "no-content-type",
        "not-utf8",
    ],
)
async def test_invalid_messages_are_dead_lettered_at_once(
    amqp, topology, publisher, settings, body, properties, expected
):
    dead = await watch_dead_letters(amqp, topology, "email")
    status = await watch_status(amqp, topology)
    handler = Scripted()
    async with running(handler, settings()):
        await publish_raw(amqp, topology.events.name, "email.requested", body, message_id="poison", **properties)
        letter = await dead.wait_for(lambda m: m.message_id == "poison")
        # The consumer is still alive and working after the poison message.
        good = an_email()
        await publisher.publish(good)
        await status.wait_for(status_of(good.job_id, "job.succeeded"))

    assert letter.headers[headers.REASON] == "invalid_message"
    assert expected in letter.headers[headers.ERROR_MESSAGE]
    assert letter.body == body
    assert [call.job_id for call in handler.calls] == [good.job_id]


async def test_unknown_major_version_is_refused(amqp, topology, publisher, settings):
    dead = await watch_dead_letters(amqp, topology, "email")
    status = await watch_status(amqp, topology)
    body = json.loads(an_email().model_dump_json())
    body["version"] = "2.0"
    async with running(Scripted(), settings()):
        await publish_raw(
            amqp,
            topology.events.name,
            "email.requested",
            json.dumps(body).encode(),
            message_id="v2",
            content_type="application/json",
        )
        letter = await dead.wait_for(lambda m: m.message_id == "v2")
        # The invalid message named its job, so the job learns why it died.
        report = await status.wait_for(lambda e: str(e.job_id) == body["job_id"])

    assert "unsupported major version 2" in letter.headers[headers.ERROR_MESSAGE]
    assert report.type == "job.dead_lettered" and report.reason == "invalid_message"


async def test_oversize_message_is_dead_lettered(amqp, topology, publisher, settings):
    dead = await watch_dead_letters(amqp, topology, "email")
    big = an_email(text="x" * 5000).model_dump_json().encode()
    async with running(Scripted(), settings(max_message_bytes=4096)):
        await publish_raw(
            amqp, topology.events.name, "email.requested", big, message_id="big", content_type="application/json"
        )
        letter = await dead.wait_for(lambda m: m.message_id == "big")

    assert "exceeds the limit of 4096 bytes" in letter.headers[headers.ERROR_MESSAGE]


async def test_retry_after_picks_a_long_enough_delay(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    handler = Scripted(TransientError("429 slow down", retry_after=0.3))
    async with running(handler, settings()):
        event = an_email()
        await publisher.publish(event)
        await status.wait_for(status_of(event.job_id, "job.succeeded"))

    retry = next(e for e in status.seen if e.type == "job.retry_scheduled")
    assert retry.retry_in_seconds == 0.4  # the shortest declared delay >= 0.3 s


async def test_shutdown_lets_in_flight_work_finish(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    release = asyncio.Event()
    handler = Scripted(block=release)
    async with running(handler, settings(shutdown_grace=10)) as stop:
        event = an_email()
        await publisher.publish(event)
        await asyncio.wait_for(handler.started.wait(), 10)
        stop.set()  # what SIGTERM does
        await asyncio.sleep(0)  # let the service take the stop before the work ends
        release.set()
        await status.wait_for(status_of(event.job_id, "job.succeeded"))

    await wait_for_depth(amqp, topology.service("email").work.name, 0)


async def test_shutdown_requeues_work_that_overruns_the_grace_period(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    stuck = Scripted(block=asyncio.Event())  # never released
    event = an_email()
    async with running(stuck, settings(shutdown_grace=0.2)):
        await publisher.publish(event)
        await asyncio.wait_for(stuck.started.wait(), 10)
    # The first instance gave up on the job and returned it to the queue ...
    await wait_for_depth(amqp, topology.service("email").work.name, 1)
    # ... so the next instance does it.
    handler = Scripted()
    async with running(handler, settings()):
        await status.wait_for(status_of(event.job_id, "job.succeeded"))
    assert [call.job_id for call in handler.calls] == [event.job_id]


async def test_a_message_delivered_twice_is_worked_on_once(amqp, topology, publisher, settings):
    status = await watch_status(amqp, topology)
    handler = Scripted()
    skipped_before = REGISTRY.get_sample_value("offload_duplicates_total", {"service": "email", "kind": "skipped"}) or 0
    async with running(handler, settings()):
        event = an_email()
        await publisher.publish(event)
        await status.wait_for(status_of(event.job_id, "job.succeeded"))
        await publisher.publish(event)  # the same message id again, as a retrying publisher would
        await status.wait_for_count(status_of(event.job_id, "job.succeeded"), 2)

    assert [call.message_id for call in handler.calls] == [event.message_id]
    # The duplicate is reported with the first run's result, so the job stays right.
    results = [e.result for e in status.seen if e.type == "job.succeeded"]
    assert results == [{"sent_to": ["ada@example.com"]}] * 2
    skipped = REGISTRY.get_sample_value("offload_duplicates_total", {"service": "email", "kind": "skipped"})
    assert skipped == skipped_before + 1


async def test_consumer_comes_back_after_the_broker_cancels_it(amqp, topology, publisher, settings):
    """Deleting a live queue makes the broker cancel its consumers; the watchdog notices."""
    status = await watch_status(amqp, topology)
    handler = Scripted()
    work = topology.service("email").work
    async with running(handler, settings()):
        async with amqp.channel() as channel:
            await channel.queue_delete(work.name)
        # The queue is declared again and consumed from; its binding returns with it,
        # so a new job is routed and done.
        async with asyncio.timeout(20):
            while True:
                event = an_email()
                try:
                    await publisher.publish(event)
                    break
                except PublishError:  # not routable until the queue is back
                    await asyncio.sleep(0.2)
        await status.wait_for(status_of(event.job_id, "job.succeeded"), timeout=20)


async def test_a_status_consumer_retries_without_touching_the_events_attempt(amqp, amqp_url, topology):
    """The gateway's consumer folds status events; a retry must not change the job facts it carries."""
    broker = Broker(amqp_url, topology, name="test-status-consumer")
    await broker.connect()
    queues = topology.gateway(TEST_RETRY)
    await broker.declare(queues.all())
    seen: list[StatusEvent] = []
    done = asyncio.Event()

    async def flaky_store(event: StatusEvent, _: JobContext) -> None:
        seen.append(event)
        if len(seen) < 3:
            raise ConnectionError("database restarting")
        done.set()

    consumer = Consumer(
        broker,
        queues,
        JobStatusEvent,
        flaky_store,
        reporter=Silent(),
        tries=TriesInHeader(),
        retry=TEST_RETRY,
        prefetch=4,
        max_message_bytes=1 << 20,
    )
    await consumer.start()
    try:
        await broker.publish(JobStarted(task_type="email", service="email", attempt=2))
        await asyncio.wait_for(done.wait(), 15)
    finally:
        await consumer.stop(5)
        await broker.close()

    assert len(seen) == 3
    assert {event.attempt for event in seen} == {2}
    assert len({event.message_id for event in seen}) == 1


class Sleepy(Scripted):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def __call__(self, event: EmailRequested, job: JobContext) -> dict[str, Any]:
        await asyncio.sleep(self.seconds)
        return {}


@pytest.mark.parametrize(("seconds", "kinds"), [(0, ["job.succeeded"]), (0.5, ["job.started", "job.succeeded"])])
async def test_only_jobs_that_take_a_while_report_their_start_separately(
    amqp, topology, publisher, settings, seconds, kinds
):
    status = await watch_status(amqp, topology)
    async with running(Sleepy(seconds), settings()):
        event = an_email()
        await publisher.publish(event)
        succeeded = await status.wait_for(status_of(event.job_id, "job.succeeded"))

    assert [e.type for e in status.seen if e.job_id == event.job_id] == kinds
    # Either way the outcome says when the attempt started.
    assert succeeded.started_at is not None
    assert (succeeded.occurred_at - succeeded.started_at).total_seconds() >= seconds
