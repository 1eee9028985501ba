"""The gateway's job store: one row per job, kept current by folding status events.

Services report what happened to a job as status events, delivered at least
once and in no guaranteed order. `fold` decides, from the job's row and one
event, what changes (or that the event is stale); `JobStore` runs that decision
in one short transaction on SQLite or PostgreSQL, picked by the URL alone.

Only service users' events reach the store (gateway/status.py), and even those
must be possible: an event for a replay the gateway never made, or for an
attempt past the retry policy's last, is refused, so that a forged high
`replay` or `attempt` cannot outrank the job's real events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import Column, Index, Integer, String, Table, Uuid, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    STATUS_AFTER,
    JobDeadLettered,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobStatus,
    JobSucceeded,
    Progress,
    StatusEvent,
    TaskType,
    utc_now,
)
from gateway.database import metadata
from runtime.database import Database, JSONOrNull, UTCDateTime

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("task_type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("progress", JSONOrNull, nullable=True),
    Column("error", JSONOrNull, nullable=True),
    Column("result", JSONOrNull, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    # The key of the last event applied (see `event_key`); an event with a
    # lower key arrived late and is ignored.
    Column("last_replay", Integer, nullable=False),
    Column("last_attempt", Integer, nullable=False),
    Column("last_rank", Integer, nullable=False),
    Column("last_event_at", UTCDateTime, nullable=False),
    # Replays of the job's dead letter the gateway made; no event may claim more.
    Column("replays", Integer, nullable=False, server_default="0"),
    Index("ix_jobs_status_created_at", "status", "created_at"),
    Index("ix_jobs_task_type_created_at", "task_type", "created_at"),
    # The unfiltered listing (newest first) would otherwise sort the table.
    Index("ix_jobs_created_at_job_id", "created_at", "job_id"),
)


log = structlog.get_logger("offload.gateway")

IMPOSSIBLE = Counter(
    "offload_status_events_impossible",
    "Status events ignored because they cannot follow what the gateway knows of the job.",
    ["reason"],
)


class Job(BaseModel):
    """A job as the API shows it."""

    job_id: UUID
    type: TaskType
    status: JobStatus
    attempts: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    progress: Progress | None
    error: dict[str, Any] | None
    result: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(
            job_id=row["job_id"],
            type=row["task_type"],
            status=row["status"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            progress=row["progress"],
            error=row["error"],
            result=row["result"],
        )


# Within one attempt: queued, then running (started and progressed tie, so the
# later of them wins by time), then a retry, then an outcome.
RANK: dict[str, int] = {
    "job.queued": 0,
    "job.started": 1,
    "job.progressed": 1,
    "job.retry_scheduled": 2,
    "job.succeeded": 3,
    "job.dead_lettered": 3,
}

# Events that prove an attempt was made, so they count towards `attempts`.
_ATTEMPTED = (JobStarted, JobRetryScheduled, JobSucceeded, JobDeadLettered)


def event_key(event: StatusEvent) -> tuple[int, int, int, datetime]:
    """Orders a job's events: a replay of a dead letter outranks everything before it."""
    return (event.replay, event.attempt, RANK[event.type], event.occurred_at)


def queued_row(job_id: UUID, task_type: TaskType, *, created_at: datetime, now: datetime) -> dict[str, Any]:
    """The row of a job that is recorded but has seen no status event yet."""
    return {
        "job_id": job_id,
        "task_type": task_type.value,
        "status": JobStatus.queued.value,
        "attempts": 0,
        "progress": None,
        "error": None,
        "result": None,
        "created_at": created_at,
        "updated_at": now,
        "started_at": None,
        "finished_at": None,
        # Attempt 0 sorts below every event, so the first one always applies.
        "last_replay": 0,
        "last_attempt": 0,
        "last_rank": 0,
        "last_event_at": created_at,
        "replays": 0,
    }


def impossible(row: Mapping[str, Any], event: StatusEvent, max_attempts: int | None) -> str | None:
    """Why `event` cannot be about the job in `row` (None: it can)."""
    if event.replay > row["replays"]:
        return "unknown_replay"
    if max_attempts is not None and event.attempt > max_attempts:
        return "attempt_past_limit"
    return None


def fold(
    row: Mapping[str, Any], event: StatusEvent, *, now: datetime, max_attempts: int | None = None
) -> dict[str, Any] | None:
    """The column changes `event` makes to the job in `row`, or None if it is stale or impossible.

    Equal keys apply, so a redelivered event rewrites the same values.
    `max_attempts` is the last attempt the retry policy allows.
    """
    if (why := impossible(row, event, max_attempts)) is not None:
        IMPOSSIBLE.labels(why).inc()
        log.warning(
            "impossible status event ignored",
            reason=why,
            job_id=str(event.job_id),
            type=event.type,
            attempt=event.attempt,
            replay=event.replay,
            replays_made=row["replays"],
        )
        return None
    key = event_key(event)
    if key < (row["last_replay"], row["last_attempt"], row["last_rank"], row["last_event_at"]):
        return None

    status = STATUS_AFTER[event.type]
    changes: dict[str, Any] = {
        "status": status.value,
        "updated_at": now,
        "last_replay": key[0],
        "last_attempt": key[1],
        "last_rank": key[2],
        "last_event_at": key[3],
    }
    if isinstance(event, _ATTEMPTED):
        changes["attempts"] = max(row["attempts"], event.attempt)
    if status not in (JobStatus.succeeded, JobStatus.dead_lettered):
        # A replayed dead letter is running again, so it is no longer finished.
        changes["finished_at"] = None

    if row["started_at"] is None and event.started_at is not None:
        changes["started_at"] = event.started_at
    match event:
        case JobStarted():
            if row["started_at"] is None:
                changes["started_at"] = event.occurred_at
        case JobProgressed():
            changes["progress"] = event.progress.model_dump(mode="json")
        case JobSucceeded():
            changes["result"] = to_jsonable_python(event.result)
            changes["error"] = None
            changes["finished_at"] = event.occurred_at
        case JobRetryScheduled():
            changes["error"] = {
                **event.error.model_dump(mode="json"),
                "retry_in_seconds": event.retry_in_seconds,
            }
        case JobDeadLettered():
            changes["error"] = {
                **event.error.model_dump(mode="json"),
                "reason": event.reason.value,
            }
            changes["finished_at"] = event.occurred_at
    return changes


# Every column a fold may change, written back for a batch of jobs at once.
_FOLDED = [column.name for column in jobs.c if column.name not in ("job_id", "task_type", "created_at")]
_UPDATE_FOLDED = (
    update(jobs)
    .where(jobs.c.job_id == bindparam("b_job_id"))
    .values({name: bindparam(f"b_{name}") for name in _FOLDED})
)


def _folded_params(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"b_job_id": row["job_id"], **{f"b_{name}": row[name] for name in _FOLDED}}


class JobStore:
    """Jobs: recorded when accepted, then kept current by status events."""

    def __init__(self, database: Database, *, max_attempts: int | None = None) -> None:
        """`max_attempts`: the retry policy's last attempt; events past it are ignored."""
        self._db = database
        self._max_attempts = max_attempts

    async def create(
        self, job_id: UUID, task_type: TaskType, *, created_at: datetime, conn: AsyncConnection | None = None
    ) -> Job:
        """Record a new queued job, or return the one already recorded under this id.

        Pass `conn` to make the record part of a larger transaction.
        """
        if conn is None:
            async with self._db.writes() as conn:
                return await self.create(job_id, task_type, created_at=created_at, conn=conn)
        row = queued_row(job_id, task_type, created_at=created_at, now=utc_now())
        # RETURNING hands back the stored row (times in UTC) in the same
        # statement, and nothing when the id was already taken.
        insert = self._db.insert_if_absent(jobs).values(row).returning(*jobs.c)
        stored = (await conn.execute(insert)).mappings().one_or_none()
        if stored is None:
            # A retried POST or publish: the first record stands.
            stored = await self._row(conn, job_id)
        assert stored is not None  # jobs are never deleted
        return Job.from_row(stored)

    async def apply(self, event: StatusEvent) -> None:
        """Fold one status event into its job, creating the job if it is unknown."""
        now = utc_now()
        async with self._db.writes() as conn:
            # FOR UPDATE holds off a second gateway folding into the same row
            # on PostgreSQL; SQLite ignores it and is serialised by BEGIN IMMEDIATE.
            row = await self._row(conn, event.job_id, for_update=True)
            if row is None:
                # Published straight to the broker, or its event overtook the POST.
                fresh = queued_row(event.job_id, event.task_type, created_at=event.created_at, now=now)
                changes = fold(fresh, event, now=now, max_attempts=self._max_attempts)
                inserted = await conn.execute(self._db.insert_if_absent(jobs).values({**fresh, **(changes or {})}))
                if inserted.rowcount == 1:
                    return
                # Another transaction inserted it first; fold into theirs.
                row = await self._row(conn, event.job_id, for_update=True)
                assert row is not None
            changes = fold(row, event, now=now, max_attempts=self._max_attempts)
            if changes:
                await conn.execute(update(jobs).where(jobs.c.job_id == event.job_id).values(changes))

    async def apply_many(self, events: Sequence[StatusEvent]) -> list[None]:
        """Fold a batch of status events in one transaction, in their order."""
        now = utc_now()
        async with self._db.writes() as conn:
            ids = {event.job_id for event in events}
            query = select(jobs).where(jobs.c.job_id.in_(ids)).with_for_update()
            rows = {row["job_id"]: dict(row) for row in (await conn.execute(query)).mappings()}
            new: set[UUID] = set()
            changed: set[UUID] = set()
            for event in events:
                if event.job_id not in rows:
                    rows[event.job_id] = queued_row(event.job_id, event.task_type, created_at=event.created_at, now=now)
                    new.add(event.job_id)
                changes = fold(rows[event.job_id], event, now=now, max_attempts=self._max_attempts)
                if changes:
                    rows[event.job_id].update(changes)
                    changed.add(event.job_id)
            inserted: set[UUID] = set()
            if new:
                insert = self._db.insert_if_absent(jobs).returning(jobs.c.job_id)
                result = await conn.execute(insert, [rows[job_id] for job_id in new])
                inserted = set(result.scalars())
            if existing := [rows[job_id] for job_id in changed - new]:
                await conn.execute(_UPDATE_FOLDED, [_folded_params(row) for row in existing])
        # Another gateway created some of the new jobs first: fold into theirs.
        for event in events:
            if event.job_id in new - inserted:
                await self.apply(event)
        return [None] * len(events)

    async def record_replay(self, job_id: UUID, task_type: TaskType) -> int:
        """Count one more replay of the job's dead letter; returns how many were made.

        Called before the replay is published, so its events find it counted. A
        job the store never heard of is recorded as queued.
        """
        now = utc_now()
        async with self._db.writes() as conn:
            await conn.execute(
                self._db.insert_if_absent(jobs).values(queued_row(job_id, task_type, created_at=now, now=now))
            )
            counted = (
                update(jobs).where(jobs.c.job_id == job_id).values(replays=jobs.c.replays + 1).returning(jobs.c.replays)
            )
            return (await conn.execute(counted)).scalar_one()

    async def get(self, job_id: UUID) -> Job | None:
        async with self._db.reads() as conn:
            row = await self._row(conn, job_id)
        return None if row is None else Job.from_row(row)

    async def list(
        self,
        *,
        status: JobStatus | None = None,
        task_type: TaskType | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Job], int]:
        """One page of jobs, newest first, and how many match in all."""
        conditions = []
        if status is not None:
            conditions.append(jobs.c.status == status.value)
        if task_type is not None:
            conditions.append(jobs.c.task_type == task_type.value)
        page = (
            select(jobs)
            .where(*conditions)
            .order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(jobs).where(*conditions)
        # One transaction, so the page and the total come from the same snapshot.
        async with self._db.reads() as conn:
            rows = (await conn.execute(page)).mappings().all()
            total = (await conn.execute(count)).scalar_one()
        return [Job.from_row(row) for row in rows], total

    @staticmethod
    async def _row(conn: AsyncConnection, job_id: UUID, *, for_update: bool = False) -> Mapping[str, Any] | None:
        query = select(jobs).where(jobs.c.job_id == job_id)
        if for_update:
            query = query.with_for_update()
        return (await conn.execute(query)).mappings().one_or_none()
