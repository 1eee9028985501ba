"""Reporting what became of a job: as job status events, or not at all.

A service's consumer publishes `job.*` events, which the gateway folds into
its job store (`JobEvents`). The gateway's own consumer handles those events
and has nothing to report about them (`Silent`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from contracts.events import (
    DeadLetterReason,
    ErrorInfo,
    JobDeadLettered,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSucceeded,
    Progress,
    StatusEvent,
    TaskType,
)
from runtime.broker import Broker


@dataclass(frozen=True)
class JobAttempt:
    """Which try of which job a report is about."""

    job_id: UUID
    attempt: int
    replay: int


class Reporter(Protocol):
    # The level of the one line logged per job that succeeded.
    log_level: int

    async def started(self, job: JobAttempt, at: datetime) -> None: ...

    async def progressed(self, job: JobAttempt, progress: Progress) -> None: ...

    async def succeeded(self, job: JobAttempt, result: dict[str, Any], started_at: datetime | None) -> None: ...

    async def retry_scheduled(
        self, job: JobAttempt, error: ErrorInfo, retry_in_seconds: float, started_at: datetime
    ) -> None: ...

    async def dead_lettered(
        self, job: JobAttempt, error: ErrorInfo, reason: DeadLetterReason, started_at: datetime | None
    ) -> None: ...


class JobEvents:
    """Publishes a job status event for each report, as `service` running jobs of `task_type`.

    Each publish is confirmed by the broker before it returns.
    """

    log_level = logging.INFO

    def __init__(self, broker: Broker, task_type: TaskType, service: str) -> None:
        self._broker = broker
        self._task_type = task_type
        self._service = service

    async def started(self, job: JobAttempt, at: datetime) -> None:
        await self._publish(JobStarted, job, occurred_at=at)

    async def progressed(self, job: JobAttempt, progress: Progress) -> None:
        await self._publish(JobProgressed, job, progress=progress)

    async def succeeded(self, job: JobAttempt, result: dict[str, Any], started_at: datetime | None) -> None:
        await self._publish(JobSucceeded, job, result=result, started_at=started_at)

    async def retry_scheduled(
        self, job: JobAttempt, error: ErrorInfo, retry_in_seconds: float, started_at: datetime
    ) -> None:
        await self._publish(
            JobRetryScheduled, job, error=error, retry_in_seconds=retry_in_seconds, started_at=started_at
        )

    async def dead_lettered(
        self, job: JobAttempt, error: ErrorInfo, reason: DeadLetterReason, started_at: datetime | None
    ) -> None:
        await self._publish(JobDeadLettered, job, error=error, reason=reason, started_at=started_at)

    async def _publish(self, kind: type[StatusEvent], job: JobAttempt, **fields: Any) -> None:
        status = kind(
            job_id=job.job_id,
            attempt=job.attempt,
            replay=job.replay,
            task_type=self._task_type,
            service=self._service,
            **fields,
        )
        await self._broker.publish(status, mandatory=False)


class Silent:
    """Reports nothing: for a consumer of status events, whose outcomes are no job's news."""

    # A job's status events arrive three at a time: a line each would drown the services' one.
    log_level = logging.DEBUG

    async def started(self, job: JobAttempt, at: datetime) -> None:
        return None

    async def progressed(self, job: JobAttempt, progress: Progress) -> None:
        return None

    async def succeeded(self, job: JobAttempt, result: dict[str, Any], started_at: datetime | None) -> None:
        return None

    async def retry_scheduled(
        self, job: JobAttempt, error: ErrorInfo, retry_in_seconds: float, started_at: datetime
    ) -> None:
        return None

    async def dead_lettered(
        self, job: JobAttempt, error: ErrorInfo, reason: DeadLetterReason, started_at: datetime | None
    ) -> None:
        return None
