"""How one status event changes a job's row: pure functions, no database.

Services report what happened to a job as status events, delivered at least
once and in no guaranteed order. `event_key` orders a job's events; `fold`
decides, from the job's row and one event, what changes, or that the event is
stale or impossible and changes nothing. The store (gateway/store.py) reads
and writes the rows around these decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python

from contracts.events import (
    STATUS_STEPS,
    JobDeadLettered,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobStatus,
    JobSucceeded,
    StatusEvent,
    TaskType,
)

# Events that prove an attempt was made, so they count towards `attempts`.
_ATTEMPTED = (JobStarted, JobRetryScheduled, JobSucceeded, JobDeadLettered)


def event_key(event: StatusEvent) -> tuple[int, int, int, datetime]:
    """Orders a job's events: a replay of a dead letter outranks everything before it."""
    return (event.replay, event.attempt, STATUS_STEPS[type(event)].rank, event.occurred_at)


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
    """Why `event` cannot be about the job in `row` (None: it can).

    An event for a replay the gateway never made, or for an attempt past the
    retry policy's last, is refused, so that a forged high `replay` or
    `attempt` cannot outrank the job's real events.
    """
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
    if impossible(row, event, max_attempts) is not None:
        return None
    key = event_key(event)
    if key < (row["last_replay"], row["last_attempt"], row["last_rank"], row["last_event_at"]):
        return None

    status = STATUS_STEPS[type(event)].status
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
