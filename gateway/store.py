"""The gateway's job store: one row per job, the one writer of those rows.

A job is recorded as queued when the intake accepts it (in the intake's
transaction), then kept current by folding its status events, a batch at a
time, in short transactions on SQLite or PostgreSQL, picked by the URL alone.
What one event changes is decided by `gateway.folding`; this module reads and
writes the rows around those decisions.

Only service users' events reach the store (gateway/status.py), and even those
must be possible (see `gateway.folding.impossible`): the impossible ones are
counted and logged here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import structlog
from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import JobStatus, Progress, StatusEvent, TaskType, utc_now
from gateway.folding import fold, impossible, queued_row
from gateway.tables import jobs
from runtime.database import Database

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


class AcceptedJob(NamedTuple):
    """A job the intake accepted, to be recorded as queued."""

    job_id: UUID
    task_type: TaskType
    created_at: datetime


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

    async def record_queued(self, conn: AsyncConnection, accepted: Sequence[AcceptedJob]) -> None:
        """Record accepted jobs as queued, in the caller's transaction (the intake's, with their events).

        A job already recorded under the same id keeps its first record.
        """
        now = utc_now()
        rows = [queued_row(job.job_id, job.task_type, created_at=job.created_at, now=now) for job in accepted]
        await conn.execute(self._db.insert_if_absent(jobs), rows)

    async def apply_many(self, events: Sequence[StatusEvent]) -> list[None]:
        """Fold a batch of status events in one transaction, in their order.

        A job the store never heard of is recorded first: it was published
        straight to the broker, or its event overtook the POST.
        """
        now = utc_now()
        async with self._db.writes() as conn:
            rows = await self._rows_to_fold(conn, events, now)
            changed: set[UUID] = set()
            for event in events:
                row = rows[event.job_id]
                changes = self._fold(row, event, now)
                if changes:
                    row.update(changes)
                    changed.add(event.job_id)
            if changed:
                await conn.execute(_UPDATE_FOLDED, [_folded_params(rows[job_id]) for job_id in changed])
        return [None] * len(events)

    async def _rows_to_fold(
        self, conn: AsyncConnection, events: Sequence[StatusEvent], now: datetime
    ) -> dict[UUID, dict[str, Any]]:
        """The rows of the events' jobs, locked, recording the unknown ones as queued first."""
        rows = await self._locked_rows(conn, {event.job_id for event in events})
        unknown: dict[UUID, dict[str, Any]] = {}
        for event in events:
            if event.job_id not in rows and event.job_id not in unknown:
                unknown[event.job_id] = queued_row(event.job_id, event.task_type, created_at=event.created_at, now=now)
        if unknown:
            # Another gateway may record some of them first: its rows stand,
            # so every new row is read back rather than assumed.
            await conn.execute(self._db.insert_if_absent(jobs), list(unknown.values()))
            rows |= await self._locked_rows(conn, unknown.keys())
        return rows

    @staticmethod
    async def _locked_rows(conn: AsyncConnection, job_ids: Collection[UUID]) -> dict[UUID, dict[str, Any]]:
        # FOR UPDATE holds off a second gateway folding into the same rows on
        # PostgreSQL; SQLite ignores it and is serialised by BEGIN IMMEDIATE.
        query = select(jobs).where(jobs.c.job_id.in_(job_ids)).with_for_update()
        return {row["job_id"]: dict(row) for row in (await conn.execute(query)).mappings()}

    def _fold(self, row: Mapping[str, Any], event: StatusEvent, now: datetime) -> dict[str, Any] | None:
        """`fold`, counting and logging the events it refuses as impossible."""
        if (why := impossible(row, event, self._max_attempts)) is not None:
            IMPOSSIBLE.labels(why).inc()
            log.warning(
                "impossible status event ignored",
                reason=why,
                job_id=str(event.job_id),
                type=event.routing_key,
                attempt=event.attempt,
                replay=event.replay,
                replays_made=row["replays"],
            )
            return None
        return fold(row, event, now=now, max_attempts=self._max_attempts)

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
    async def _row(conn: AsyncConnection, job_id: UUID) -> Mapping[str, Any] | None:
        return (await conn.execute(select(jobs).where(jobs.c.job_id == job_id))).mappings().one_or_none()
