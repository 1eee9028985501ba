"""Accepting a job: its record, its outgoing event and its idempotency key, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from contracts.events import TASK_EVENTS, TaskType
from gateway import idempotency
from runtime.database import Database
from gateway.outbox import Outbox
from gateway.store import JobStore

log = structlog.get_logger("offload.gateway")

ACCEPTED = 202


class NotAccepted(Exception):
    """The job could not be recorded; nothing was written."""


@dataclass(frozen=True)
class Receipt:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    """True when this is the stored answer to an earlier request with the same key."""


def receipt_body(job_id: UUID) -> dict[str, Any]:
    return {"job_id": str(job_id), "status_url": f"/v1/jobs/{job_id}"}


async def accept(
    db: Database,
    store: JobStore,
    task_type: TaskType,
    payload: BaseModel,
    *,
    idempotency_key: str | None = None,
    key_ttl: float = 86_400,
) -> Receipt:
    """Record the job and its event; the relay publishes it. Raises NotAccepted, KeyReused."""
    event = TASK_EVENTS[task_type].model_validate(payload.__dict__)
    body = receipt_body(event.job_id)
    try:
        async with db.writes() as conn:
            if idempotency_key is not None:
                request = idempotency.request_hash(task_type.value.encode(), payload.model_dump_json().encode())
                stored = await idempotency.claim(
                    db, conn, idempotency_key, request=request, status_code=ACCEPTED, response=body, ttl=key_ttl
                )
                if stored is not None:
                    return Receipt(stored.status_code, stored.response, replayed=True)
            await store.create(event.job_id, task_type, created_at=event.created_at, conn=conn)
            await Outbox.add(
                conn,
                message_id=str(event.message_id),
                routing_key=event.type,
                body=event.__pydantic_serializer__.to_json(event),
            )
    except (SQLAlchemyError, OSError) as error:
        log.error("job store unavailable", error=str(error))
        raise NotAccepted("the job store is unavailable") from error
    return Receipt(ACCEPTED, body)
