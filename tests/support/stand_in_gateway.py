"""A stand-in for the gateway behind the routes: its intake records what it was asked.

Route tests put it in place of the real gateway (`app.dependency_overrides`),
so that they see exactly what a route hands the intake, and can have the
intake refuse a job the way the real one does, with no job store behind it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pydantic import BaseModel

from contracts.events import TaskType
from gateway.intake import Receipt
from gateway.settings import GatewaySettings
from storage import Storage


@dataclass(frozen=True)
class Asked:
    task_type: TaskType
    payload: BaseModel
    idempotency_key: str | None
    identity: bytes | None


@dataclass
class RecordingIntake:
    """Accepts every job as the real intake would answer it, unless told to refuse (`refusal`)."""

    asked: list[Asked] = field(default_factory=list)
    refusal: Exception | None = None
    """Raised instead of accepting: NotAccepted or KeyReused, as the real intake raises them."""
    replayed: bool = False
    """Answer as for a repeated Idempotency-Key: the stored answer to the first request."""

    async def accept(
        self,
        task_type: TaskType,
        payload: BaseModel,
        idempotency_key: str | None = None,
        identity: bytes | None = None,
    ) -> Receipt:
        self.asked.append(Asked(task_type, payload, idempotency_key, identity))
        if self.refusal is not None:
            raise self.refusal
        job_id = uuid.uuid4()
        return Receipt(202, {"job_id": str(job_id), "status_url": f"/v1/jobs/{job_id}"}, replayed=self.replayed)


@dataclass
class StandInGateway:
    """What the task routes use of the gateway: its settings, its storage and its intake."""

    settings: GatewaySettings
    storage: Storage
    intake: RecordingIntake = field(default_factory=RecordingIntake)
