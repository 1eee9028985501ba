"""The fan-out with a stand-in provider: one target's exception, whatever it is, stays that target's outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from py_vapid import VapidException
from structlog.testing import capture_logs

from contracts.events import Notification, NotificationRequested
from contracts.notification import NotificationTarget
from notify_service.client import Unreachable
from notify_service.deliveries import Deliveries
from notify_service.handler import NotifyHandler
from notify_service.outcomes import Outcome
from notify_service.providers import DeliveryKey, address_of
from runtime.errors import PermanentError, TransientError
from runtime.job import JobContext

# What a provider's libraries raise for a target they cannot use, keyed by the URL path that triggers it.
RAISED_FOR = {
    "/vapid": VapidException("Missing 'aud' from claims"),
    "/idna": UnicodeError("encoding with 'idna' codec failed"),
    "/auth": ValueError("Cannot combine AUTHORIZATION header with credentials encoded in URL"),
    "/key": KeyError("p256dh"),
    "/bug": RuntimeError("https://user:hunter2@hooks.example.com/bug is broken"),
    "/assert": AssertionError(),
}


class StandIn:
    """Delivers to every target except those whose path names an exception to raise; yields between sends."""

    def __init__(self) -> None:
        self.delivered: list[int] = []

    async def send(self, target: NotificationTarget, notification: Notification, key: DeliveryKey) -> Outcome:
        await asyncio.sleep(0)  # let the other sends interleave, as real requests do
        path = "/" + address_of(target).rsplit("/", 1)[1]
        if path == "/down":
            raise Unreachable("unreachable: connection refused", timed_out=False)
        if path in RAISED_FOR:
            raise RAISED_FOR[path]
        self.delivered.append(key.index)
        return Outcome("delivered", 204)


@pytest.fixture
async def deliveries(tmp_path: Path) -> AsyncIterator[Deliveries]:
    store = Deliveries(f"sqlite+aiosqlite:///{tmp_path}/deliveries.db")
    await store.open()
    yield store
    await store.close()


def webhook_event(*paths: str) -> NotificationRequested:
    targets = [{"url": f"https://user:hunter2@hooks.example.com{path}"} for path in paths]
    return NotificationRequested(provider="webhook", targets=targets, title="Hi", body="there")


def handler_for(provider: StandIn, deliveries: Deliveries) -> NotifyHandler:
    return NotifyHandler({"webhook": provider}, {}, deliveries, concurrency=8, default_provider="log")


async def test_each_exception_fails_its_own_target_and_every_other_target_is_sent(deliveries):
    provider = StandIn()
    good = [f"/ok-{i}" for i in range(40)]
    event = webhook_event(*RAISED_FOR, *good, *RAISED_FOR)

    with capture_logs() as logs:
        result = await handler_for(provider, deliveries)(event, JobContext(event.job_id, 1))

    assert sorted(provider.delivered) == list(range(len(RAISED_FOR), len(RAISED_FOR) + len(good)))
    assert result["delivered"] == len(good) and result["invalid"] == 2 * len(RAISED_FOR)
    failed = [t for t in result["targets"] if t["status"] == "invalid"]
    assert [t["error"] for t in failed[: len(RAISED_FOR)]] == [
        f"provider could not send to this target ({type(error).__name__})" for error in RAISED_FOR.values()
    ]
    # Recorded as finished: a retry would not send to them again.
    assert len(await deliveries.finished(event.job_id)) == len(event.targets)
    # Neither the requester nor the log sees the credentials of a URL.
    assert "hunter2" not in repr(result) and "hunter2" not in repr(logs)
    assert any(entry["event"] == "provider failed on a target" and "Traceback" in entry["error"] for entry in logs)


async def test_an_unreachable_target_is_still_retried_next_to_one_that_raised(deliveries):
    event = webhook_event("/ok", "/down", "/bug")

    with pytest.raises(TransientError, match="1 delivered, 1 invalid, 1 failing") as caught:
        await handler_for(StandIn(), deliveries)(event, JobContext(event.job_id, 1))

    assert "hunter2" not in str(caught.value) and "https://***@hooks.example.com/down" in str(caught.value)


async def test_a_job_whose_every_target_raised_is_dead_lettered_with_the_reasons(deliveries):
    event = webhook_event("/vapid", "/idna")

    with pytest.raises(PermanentError, match=r"every target refused.*VapidException.*UnicodeError"):
        await handler_for(StandIn(), deliveries)(event, JobContext(event.job_id, 1))
