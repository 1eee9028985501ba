"""The job store against a real SQLite file and a real PostgreSQL server.

What a status event changes is the fold's rule, tested in
tests/unit/gateway/test_folding.py; here, that the store records jobs, writes
what the rules decide and reads it back, alone or concurrently.

Every test runs on both backends (see the `database` fixture in conftest.py).
"""

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts.events import (
    DeadLetterReason,
    JobDeadLettered,
    JobProgressed,
    JobQueued,
    JobRetryScheduled,
    JobStarted,
    JobStatus,
    JobSucceeded,
    Progress,
    StatusEvent,
    TaskType,
)
from gateway.database import gateway_database
from gateway.folding import event_key
from gateway.store import AcceptedJob, Job, JobStore
from runtime.database import Database
from support.status_events import BOOM, T0, about, at


@pytest.fixture
def store(database: Database) -> JobStore:
    return JobStore(database)


async def record(database: Database, store: JobStore, job_id: UUID, task_type: TaskType, created_at: datetime) -> None:
    """Record an accepted job as the intake does, in a transaction of its own."""
    async with database.writes() as conn:
        await store.record_queued(conn, [AcceptedJob(job_id, task_type, created_at)])


def assert_utc(*moments: datetime | None) -> None:
    for moment in moments:
        assert moment is not None
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment


async def must_get(store: JobStore, job_id: UUID) -> Job:
    job = await store.get(job_id)
    assert job is not None
    return job


async def test_record_then_get(database: Database, store: JobStore) -> None:
    job_id = uuid4()
    paris = timezone(timedelta(hours=2))
    created_at = datetime(2026, 3, 1, 11, 30, 0, 123456, tzinfo=paris)

    await record(database, store, job_id, TaskType.email, created_at)
    created = await must_get(store, job_id)

    assert created.job_id == job_id
    assert created.type is TaskType.email
    assert created.status is JobStatus.queued
    assert created.attempts == 0
    assert created.created_at == created_at
    assert (created.started_at, created.finished_at) == (None, None)
    assert (created.progress, created.error, created.result) == (None, None, None)
    assert_utc(created.created_at, created.updated_at)


async def test_get_unknown_job_is_none(store: JobStore) -> None:
    assert await store.get(uuid4()) is None


async def test_recording_a_job_twice_keeps_the_first(database: Database, store: JobStore) -> None:
    job_id = uuid4()
    await record(database, store, job_id, TaskType.email, T0)
    first = await must_get(store, job_id)

    await record(database, store, job_id, TaskType.file, at(60))
    again = await must_get(store, job_id)

    assert again == first
    assert again.type is TaskType.email
    assert again.created_at == T0


async def test_happy_path(database: Database, store: JobStore) -> None:
    # Every kind of column a fold writes (JSON, times, counters), read back.
    job_id = uuid4()
    await record(database, store, job_id, TaskType.email, T0)

    await store.apply_many([JobQueued(**about(job_id, seconds=0))])
    assert (await must_get(store, job_id)).status is JobStatus.queued

    await store.apply_many([JobStarted(**about(job_id, seconds=1))])
    running = await must_get(store, job_id)
    assert running.status is JobStatus.running
    assert running.attempts == 1
    assert running.started_at == at(1)

    await store.apply_many([JobProgressed(**about(job_id, seconds=2), progress=Progress(done=3, total=4, unit="rows"))])
    progressed = await must_get(store, job_id)
    assert progressed.status is JobStatus.running
    assert progressed.progress == Progress(done=3, total=4, unit="rows")

    await store.apply_many([JobSucceeded(**about(job_id, seconds=3), result={"message_id": "<x@y>"})])
    done = await must_get(store, job_id)
    assert done.status is JobStatus.succeeded
    assert done.attempts == 1
    assert done.result == {"message_id": "<x@y>"}
    assert done.error is None
    assert done.progress == Progress(done=3, total=4, unit="rows")
    assert done.created_at == T0
    assert done.started_at == at(1)
    assert done.finished_at == at(3)
    assert done.updated_at >= running.updated_at
    assert_utc(done.created_at, done.updated_at, done.started_at, done.finished_at)


async def test_dead_lettered_shows_the_reason(database: Database, store: JobStore) -> None:
    job_id = uuid4()
    await record(database, store, job_id, TaskType.email, T0)

    await store.apply_many([JobStarted(**about(job_id, seconds=1))])
    await store.apply_many(
        [JobDeadLettered(**about(job_id, seconds=2), error=BOOM, reason=DeadLetterReason.permanent_error)]
    )

    dead = await must_get(store, job_id)
    assert dead.status is JobStatus.dead_lettered
    assert dead.error == {
        "type": "SMTPServerDisconnected",
        "message": "connection lost",
        "reason": "permanent_error",
    }
    assert dead.finished_at == at(2)
    assert dead.result is None
    assert_utc(dead.finished_at)


async def test_a_status_event_for_an_unknown_job_records_it(store: JobStore) -> None:
    job_id = uuid4()
    created_at = at(-5)
    event = JobStarted(**{**about(job_id, seconds=1), "task_type": TaskType.analysis, "created_at": created_at})

    await store.apply_many([event])

    job = await must_get(store, job_id)
    assert job.type is TaskType.analysis
    assert job.status is JobStatus.running
    assert job.attempts == 1
    assert job.created_at == created_at
    assert job.started_at == at(1)
    assert_utc(job.created_at, job.updated_at, job.started_at)


async def test_list_filters_pages_and_counts(database: Database, store: JobStore) -> None:
    # Eight jobs a minute apart, alternating email/file; every third one runs.
    ids = [uuid4() for _ in range(8)]
    for index, job_id in enumerate(ids):
        task_type = TaskType.email if index % 2 == 0 else TaskType.file
        await record(database, store, job_id, task_type, at(60 * index))
        if index % 3 == 0:
            await store.apply_many([JobStarted(**{**about(job_id, seconds=60 * index + 1), "task_type": task_type})])
    newest_first = list(reversed(ids))

    everything, total = await store.list(limit=100, offset=0)
    assert [job.job_id for job in everything] == newest_first
    assert total == 8

    page, total = await store.list(limit=3, offset=3)
    assert [job.job_id for job in page] == newest_first[3:6]
    assert total == 8

    beyond, total = await store.list(limit=3, offset=10)
    assert (beyond, total) == ([], 8)

    emails, total = await store.list(task_type=TaskType.email, limit=100, offset=0)
    assert [job.job_id for job in emails] == [ids[6], ids[4], ids[2], ids[0]]
    assert total == 4

    running, total = await store.list(status=JobStatus.running, limit=100, offset=0)
    assert [job.job_id for job in running] == [ids[6], ids[3], ids[0]]
    assert total == 3

    running_files, total = await store.list(status=JobStatus.running, task_type=TaskType.file, limit=1, offset=0)
    assert [job.job_id for job in running_files] == [ids[3]]
    assert total == 1

    for job in everything:
        assert_utc(job.created_at, job.updated_at)


async def test_list_breaks_ties_by_job_id_descending(database: Database, store: JobStore) -> None:
    ids = [uuid4() for _ in range(5)]
    for job_id in ids:
        await record(database, store, job_id, TaskType.email, T0)

    listed, total = await store.list(limit=10, offset=0)

    assert [job.job_id for job in listed] == sorted(ids, reverse=True)
    assert total == 5


async def test_concurrent_applies_end_in_the_highest_keyed_state(database: Database, store: JobStore) -> None:
    job_id = uuid4()
    await record(database, store, job_id, TaskType.email, T0)
    events: list[StatusEvent] = []
    for attempt in (1, 2, 3):
        base = 100 * attempt
        events += [JobQueued(**about(job_id, attempt, base))]
        events += [JobStarted(**about(job_id, attempt, base + 1))]
        events += [JobProgressed(**about(job_id, attempt, base + 2 + n), progress=Progress(done=n)) for n in range(12)]
        if attempt < 3:
            events += [JobRetryScheduled(**about(job_id, attempt, base + 20), error=BOOM, retry_in_seconds=attempt)]
    last = JobSucceeded(**about(job_id, 3, 350), result={"winner": True})
    events.append(last)
    # Redeliveries of early events make up the fifty.
    events += events[: 50 - len(events)]
    assert len(events) == 50
    assert max(events, key=event_key) is last

    await asyncio.gather(*(store.apply_many([event]) for event in reversed(events)))

    job = await must_get(store, job_id)
    assert job.status is JobStatus.succeeded
    assert job.attempts == 3
    assert job.result == {"winner": True}
    assert job.error is None
    assert job.finished_at == at(350)


async def test_concurrent_first_events_for_an_unknown_job_do_not_collide(
    store: JobStore,
) -> None:
    job_id = uuid4()
    events = [JobStarted(**about(job_id, seconds=n)) for n in range(19)]
    events.append(JobProgressed(**about(job_id, seconds=30), progress=Progress(done=7)))

    await asyncio.gather(*(store.apply_many([event]) for event in events))

    job = await must_get(store, job_id)
    assert job.status is JobStatus.running
    assert job.attempts == 1
    assert job.progress == Progress(done=7)
    listed, total = await store.list(limit=10, offset=0)
    assert total == 1


async def test_sqlite_file_uses_write_ahead_logging(tmp_path: Any) -> None:
    path = tmp_path / "jobs.db"
    database = gateway_database(f"sqlite+aiosqlite:///{path}")
    await database.open()
    try:
        await record(database, JobStore(database), uuid4(), TaskType.email, T0)
    finally:
        await database.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_batch_folds_to_the_same_state_as_one_event_at_a_time(database: Database, store: JobStore) -> None:
    known, unknown = uuid4(), uuid4()
    await record(database, store, known, TaskType.email, T0)
    events = [
        JobSucceeded(**about(known, attempt=2, seconds=7), result={"n": 2}),
        JobStarted(**about(unknown, seconds=1)),
        JobStarted(**about(known, attempt=1, seconds=1)),
        JobRetryScheduled(
            **about(known, attempt=1, seconds=2), error={"type": "OSError", "message": "x"}, retry_in_seconds=1
        ),
        JobProgressed(**about(unknown, seconds=2), progress={"done": 1, "total": 2}),
        JobStarted(**about(known, attempt=2, seconds=6)),
    ]

    await store.apply_many(events)

    job = await must_get(store, known)
    assert (job.status, job.attempts, job.result, job.error) == (JobStatus.succeeded, 2, {"n": 2}, None)
    other = await must_get(store, unknown)
    assert other.status == JobStatus.running and other.progress is not None and other.progress.done == 1
