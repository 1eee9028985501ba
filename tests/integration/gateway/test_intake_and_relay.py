"""Accepting jobs and publishing their events, on the real job store and the real broker.

The intake writes a batch of jobs, their outbox events and their idempotency
keys in one transaction; the relay publishes the outbox, confirmed, and wakes
when the intake recorded something. Every test runs on SQLite and on
PostgreSQL (see the `database` fixture in conftest.py).
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage
from pydantic import TypeAdapter
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from contracts.events import Email, EmailRequested, TaskEvent, TaskType
from contracts.topology import Topology
from gateway.idempotency import KeyReused
from gateway.intake import ACCEPTED, Intake, NotAccepted
from gateway.outbox import Outbox, Pending
from gateway.relay import Relay
from gateway.store import JobStore
from gateway.tables import idempotency_keys, jobs, outbox
from runtime.broker import Broker
from runtime.database import Database
from support.watch import Watcher

TASK_EVENT = TypeAdapter(TaskEvent)


class Wakes:
    """Counts the intake's calls of `on_recorded`."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest_asyncio.fixture
async def intake_and_wakes(database: Database) -> AsyncIterator[tuple[Intake, Wakes]]:
    wakes = Wakes()
    intake = Intake(database, JobStore(database), on_recorded=wakes)
    yield intake, wakes
    await intake.close()


class ConfirmingBroker(Broker):
    """The real broker, noting the message id of every publish it confirmed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.confirmed: set[str | None] = set()

    async def publish_body(self, body: bytes, **kwargs: Any) -> None:
        await super().publish_body(body, **kwargs)
        self.confirmed.add(kwargs.get("message_id"))


class CheckedOutbox(Outbox):
    """The real outbox, noting rows removed before the broker confirmed them, and each claim."""

    def __init__(self, database: Database, broker: ConfirmingBroker) -> None:
        super().__init__(database)
        self._broker = broker
        self._claimed: dict[int, str] = {}
        self.removed_unconfirmed: list[str] = []
        self.claims = 0
        self.claimed_once = asyncio.Event()

    async def claim(self, limit: int, lease: float) -> list[Pending]:
        pending = await super().claim(limit, lease)
        self._claimed.update({item.id: item.message_id for item in pending})
        self.claims += 1
        self.claimed_once.set()
        return pending

    async def remove(self, ids: list[int]) -> None:
        self.removed_unconfirmed += [self._claimed[i] for i in ids if self._claimed[i] not in self._broker.confirmed]
        await super().remove(ids)


@pytest_asyncio.fixture
async def broker(amqp_url: str, topology: Topology, amqp: Any) -> AsyncIterator[ConfirmingBroker]:
    broker = ConfirmingBroker(amqp_url, topology, name="test-relay")
    await broker.connect()
    await broker.declare([])  # the exchanges
    yield broker
    await broker.close()


async def watch_tasks(amqp: Any, topology: Topology) -> Watcher[AbstractIncomingMessage]:
    """A copy of every task event published in this topology; it also makes them routable."""
    return await Watcher.bind(amqp, topology.events.name, "*.requested", lambda message: message)


def email(n: int) -> Email:
    return Email(to=[f"user{n}@example.com"], subject=f"Hello {n}", text="Hi")


async def count(database: Database, table: Any) -> int:
    async with database.reads() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_a_batch_of_accepted_jobs_becomes_job_rows_and_outbox_rows(
    database: Database, intake_and_wakes: tuple[Intake, Wakes]
) -> None:
    intake, wakes = intake_and_wakes

    receipts = await asyncio.gather(*(intake.accept(TaskType.email, email(n)) for n in range(5)))

    assert {receipt.status_code for receipt in receipts} == {ACCEPTED}
    job_ids = {UUID(receipt.body["job_id"]) for receipt in receipts}
    async with database.reads() as conn:
        rows = (await conn.execute(select(jobs.c.job_id, jobs.c.task_type, jobs.c.status))).all()
        events = (await conn.execute(select(outbox.c.message_id, outbox.c.routing_key, outbox.c.body))).all()
    assert {(row.job_id, row.task_type, row.status) for row in rows} == {(i, "email", "queued") for i in job_ids}
    published = [TASK_EVENT.validate_json(event.body) for event in events]
    assert {event.job_id for event in published} == job_ids
    assert [(event.message_id, event.routing_key) for event in events] == [
        (str(event.message_id), "email.requested") for event in published
    ]
    # Requests that came together were recorded together, and the relay told each time.
    assert 1 <= wakes.count <= 5


async def test_a_job_is_recorded_with_its_event_or_not_at_all(
    database: Database, database_url: str, intake_and_wakes: tuple[Intake, Wakes]
) -> None:
    intake, wakes = intake_and_wakes
    # With the outbox gone, the job row written before it must not stay either.
    side = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with side.begin() as conn:
            await conn.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
        try:
            with pytest.raises(NotAccepted):
                await intake.accept(TaskType.email, email(1), idempotency_key="key-1")
        finally:
            async with side.begin() as conn:
                await conn.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
    finally:
        await side.dispose()

    assert (await count(database, jobs), await count(database, idempotency_keys), wakes.count) == (0, 0, 0)


async def test_a_repeated_idempotency_key_returns_the_first_answer_and_records_nothing_new(
    database: Database, intake_and_wakes: tuple[Intake, Wakes]
) -> None:
    intake, wakes = intake_and_wakes
    first = await intake.accept(TaskType.email, email(1), idempotency_key="key-1")

    again = await intake.accept(TaskType.email, email(1), idempotency_key="key-1")
    with pytest.raises(KeyReused):
        await intake.accept(TaskType.email, email(2), idempotency_key="key-1")

    assert (again.status_code, again.body, again.replayed) == (first.status_code, first.body, True)
    assert not first.replayed
    assert (await count(database, jobs), await count(database, outbox), wakes.count) == (1, 1, 1)


async def test_the_relay_publishes_the_outbox_confirmed_and_deletes_only_what_was_confirmed(
    database: Database, broker: ConfirmingBroker, amqp: Any, topology: Topology
) -> None:
    watcher = await watch_tasks(amqp, topology)
    intake = Intake(database, JobStore(database))
    try:
        receipts = [await intake.accept(TaskType.email, email(n)) for n in range(3)]
    finally:
        await intake.close()
    async with database.writes() as conn:
        # Routed nowhere: the broker returns it rather than confirming it.
        await Outbox.add_many(conn, [{"message_id": str(uuid4()), "routing_key": "nobody.listens", "body": b"{}"}])
    checked = CheckedOutbox(database, broker)

    published, failed = await Relay(checked, broker).publish_batch()

    assert (published, failed) == (3, 1)
    assert checked.removed_unconfirmed == []
    messages = await watcher.wait_for_count(lambda message: True, 3)
    events = [EmailRequested.model_validate_json(message.body) for message in messages]
    assert sorted(str(event.job_id) for event in events) == sorted(receipt.body["job_id"] for receipt in receipts)
    assert [(message.message_id, message.type) for message in messages] == [
        (str(event.message_id), "email.requested") for event in events
    ]
    async with database.reads() as conn:
        left = (await conn.execute(select(outbox.c.routing_key, outbox.c.claimed_until))).all()
    # The unconfirmed event stays, given back at once for the next try.
    assert [(row.routing_key, row.claimed_until) for row in left] == [("nobody.listens", None)]


async def test_the_relay_woken_by_the_intake_publishes_without_waiting_for_its_poll(
    database: Database, broker: ConfirmingBroker, amqp: Any, topology: Topology
) -> None:
    watcher = await watch_tasks(amqp, topology)
    checked = CheckedOutbox(database, broker)
    relay = Relay(checked, broker, poll=600)
    running = asyncio.create_task(relay.run())
    intake = Intake(database, JobStore(database), on_recorded=relay.wake)
    try:
        # The relay found the outbox empty and sleeps until woken (or for its poll).
        await asyncio.wait_for(checked.claimed_once.wait(), 10)
        receipt = await intake.accept(TaskType.email, email(1))

        message = await watcher.wait_for(lambda message: True, timeout=10)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await intake.close()

    assert EmailRequested.model_validate_json(message.body).job_id == UUID(receipt.body["job_id"])
    assert checked.claims == 2
