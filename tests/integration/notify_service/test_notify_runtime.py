"""The notify service's handler inside the real runtime and broker: retries, dead letters, progress."""

from __future__ import annotations

from notify_support import webhooks

from notify_service.service import notify_handler
from support.inprocess import running
from support.topology import TEST_RETRY
from support.watch import status_of, watch_status


async def test_a_503_is_retried_for_that_target_alone_then_the_job_succeeds(
    amqp, topology, publisher, provider, settings
):
    status = await watch_status(amqp, topology)
    provider.expect_request("/ok").respond_with_data(status=200)
    provider.expect_oneshot_request("/flaky").respond_with_data(status=503)
    provider.expect_request("/flaky").respond_with_data(status=200)
    event = webhooks(provider, "/ok", "/flaky", "/ok")

    async with notify_handler(settings()) as handler, running(handler, settings(), name="notify"):
        await publisher.publish(event)
        succeeded = await status.wait_for(status_of(event.job_id, "job.succeeded"))

    assert succeeded.attempt == 2
    assert succeeded.result["delivered"] == 3
    [retry] = [e for e in status.seen if e.type == "job.retry_scheduled"]
    assert "0 invalid, 1 failing" in retry.error.message and "503" in retry.error.message
    assert sorted(request.path for request, _ in provider.log) == ["/flaky", "/flaky", "/ok", "/ok"]
    progress = [e.progress for e in status.seen if e.type == "job.progressed"]
    assert progress and progress[-1].done == progress[-1].total == 3 and progress[-1].unit == "targets"


async def test_retry_after_sets_the_delay_within_what_the_runtime_declares(
    amqp, topology, publisher, provider, settings
):
    status = await watch_status(amqp, topology)
    provider.expect_oneshot_request("/busy").respond_with_data(status=429, headers={"Retry-After": "60"})
    provider.expect_request("/busy").respond_with_data(status=200)
    event = webhooks(provider, "/busy")

    async with notify_handler(settings()) as handler, running(handler, settings(), name="notify"):
        await publisher.publish(event)
        await status.wait_for(status_of(event.job_id, "job.succeeded"))

    [retry] = [e for e in status.seen if e.type == "job.retry_scheduled"]
    # Longer than any declared delay: the longest one is taken (the first would be 0.2s).
    assert retry.retry_in_seconds == max(TEST_RETRY.delays())


async def test_a_job_whose_every_target_is_gone_is_dead_lettered_with_the_reason(
    amqp, topology, publisher, provider, settings
):
    status = await watch_status(amqp, topology)
    provider.expect_request("/gone").respond_with_data(status=410)
    event = webhooks(provider, "/gone", "/gone")

    async with notify_handler(settings()) as handler, running(handler, settings(), name="notify"):
        await publisher.publish(event)
        dead = await status.wait_for(status_of(event.job_id, "job.dead_lettered"))

    assert dead.reason == "permanent_error" and dead.attempt == 1
    assert "every target refused" in dead.error.message and "410" in dead.error.message
    assert len(provider.log) == 2
