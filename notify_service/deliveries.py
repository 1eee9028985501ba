"""Deliveries: each target's final outcome, so a retried or redelivered job skips finished targets.

One row per job and target index, written as soon as the target is delivered
or found invalid, before the job is acked. A retry (the job failed for some
targets) or a redelivery (the service died mid fan-out) reads these rows and
sends only to the targets without one. Targets still failing are not
recorded: they are what the next attempt is for. Rows are kept for a
retention period (see `runtime.retained`); SQLite by default, PostgreSQL when
replicas on several hosts share the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import Column, Integer, String, select

from notify_service.outcomes import Outcome
from runtime.retained import RetainedRecords, retained_table

deliveries = retained_table(
    "notify_deliveries",
    Column("job_id", String(36), primary_key=True),
    Column("target_index", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(1000), nullable=True),
)


class Deliveries(RetainedRecords):
    def __init__(self, url: str, retention: timedelta = timedelta(days=7)) -> None:
        super().__init__(url, deliveries, retention)
        # Outcomes of a large fan-out arrive by the hundred, and many one-target
        # jobs look up their finished targets at once: one query or transaction each batch.
        self._lookups = self._batcher(self._look_up)
        self._records = self._batcher(self._record)

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
        async with self._reads() as conn:
            for row in await conn.execute(query):
                found[row.job_id][row.target_index] = Outcome(row.status, row.status_code, row.error)
        # A job submitted twice in one batch gets a copy each: the handler fills it in.
        return [dict(found[str(job_id)]) for job_id in job_ids]

    async def _record(self, entries: Sequence[tuple[UUID, int, Outcome]]) -> list[None]:
        rows = [
            {
                "job_id": str(job_id),
                "target_index": index,
                "status": outcome.status,
                "status_code": outcome.status_code,
                "error": outcome.error,
            }
            for job_id, index, outcome in entries
        ]
        await self._note(rows)
        return [None] * len(entries)
