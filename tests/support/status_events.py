"""A job's status events at chosen moments, for the tests of how the gateway folds them into the job's row.

The fold's rules (tests/unit/gateway/test_folding.py) and the store that writes
what they decide (tests/integration/gateway/test_store.py) build their events
alike: an email job, told by the email service, `seconds` after T0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from contracts.events import ErrorInfo, TaskType

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
BOOM = ErrorInfo(type="SMTPServerDisconnected", message="connection lost")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def about(job_id: UUID, attempt: int = 1, seconds: float = 0) -> dict[str, Any]:
    """The fields every status event of `job_id`'s try `attempt` carries, as if it happened at `at(seconds)`."""
    return {
        "job_id": job_id,
        "task_type": TaskType.email,
        "service": "email_service",
        "attempt": attempt,
        "created_at": T0,
        "occurred_at": at(seconds),
    }
