"""Deliveries: each target's final outcome, so a retried or redelivered job skips finished targets.

One row per job and target index, written as soon as the target is delivered
or found invalid, before the job is acked. A retry (the job failed for some
targets) or a redelivery (the service died mid fan-out) reads these rows and
sends only to the targets without one. Targets still failing are not
recorded: they are what the next attempt is for. SQLite by default,
PostgreSQL when replicas on several hosts share the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, select

from contracts.events import utc_now
from notify_service.outcomes import Outcome
from runtime.batch import Batcher
from runtime.database import Database, UTCDateTime

metadata = MetaData()

deliveries = Table(
    "notify_deliveries",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("target_index", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(1000), nullable=True),
    Column("finished_at", UTCDateTime, nullable=False, index=True),
)


class Deliveries:
    def __init__(self, url: str, retention: timedelta = timedelta(days=7)) -> None:
        # A row lost to a power cut costs one repeated send, which at-least-once
        # delivery allows anyway; a disk sync per commit is not worth it.
        self._db = Database(url, metadata, power_safe=False)
        self._retention = retention
        # Outcomes of a large fan-out arrive by the hundred, and many one-target
        # jobs look up their finished targets at once: one query or transaction each batch.
        self._records: Batcher[tuple[UUID, int, Outcome], None] = Batcher(self._record)
        self._lookups: Batcher[UUID, dict[int, Outcome]] = Batcher(self._look_up)

    async def open(self) -> None:
        await self._db.open()
        async with self._db.writes() as conn:
            await conn.execute(delete(deliveries).where(deliveries.c.finished_at < utc_now() - self._retention))

    async def close(self) -> None:
        await self._lookups.close()
        await self._records.close()
        await self._db.close()

    async def finished(self, job_id: UUID) -> dict[int, Outcome]:
        """The targets of this job already delivered or found invalid, by index."""
        return await self._lookups.submit(job_id)

    async def record(self, job_id: UUID, index: int, outcome: Outcome) -> None:
        """Note a finished target; returns once that is committed."""
        assert outcome.finished, "a failing target is retried, not recorded"
        await self._records.submit((job_id, index, outcome))

    async def _look_up(self, job_ids: Sequence[UUID]) -> list[dict[int, Outcome]]:
        found: dict[str, dict[int, Outcome]] = {str(job_id): {} for job_id in job_ids}
        query = select(deliveries).where(deliveries.c.job_id.in_(found))
        async with self._db.reads() as conn:
            for row in await conn.execute(query):
                found[row.job_id][row.target_index] = Outcome(row.status, row.status_code, row.error)
        # A job submitted twice in one batch gets a copy each: the handler fills it in.
        return [dict(found[str(job_id)]) for job_id in job_ids]

    async def _record(self, entries: Sequence[tuple[UUID, int, Outcome]]) -> list[None]:
        now = utc_now()
        rows = [
            {
                "job_id": str(job_id),
                "target_index": index,
                "status": outcome.status,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "finished_at": now,
            }
            for job_id, index, outcome in entries
        ]
        async with self._db.writes() as conn:
            await conn.execute(self._db.insert_if_absent(deliveries), rows)
        return [None] * len(entries)
