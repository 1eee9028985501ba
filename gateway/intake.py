"""Accepting a job: record it, publish its event, or refuse it cleanly."""

from __future__ import annotations

from uuid import UUID

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from contracts.events import TASK_EVENTS, TaskType
from gateway.store import JobStore
from runtime.broker import Broker, PublishError

log = structlog.get_logger("offload.gateway")


class NotAccepted(Exception):
    """The job could not be recorded and queued; nothing was left half-done."""


async def accept(store: JobStore, broker: Broker, task_type: TaskType, payload: BaseModel) -> UUID:
    event = TASK_EVENTS[task_type].model_validate(payload.__dict__)
    if not broker.is_connected:
        raise NotAccepted("the message broker is unreachable")
    try:
        await store.create(event.job_id, task_type, created_at=event.created_at)
    except (SQLAlchemyError, OSError) as error:
        log.error("job store unavailable", error=str(error))
        raise NotAccepted("the job store is unavailable") from error
    try:
        await broker.publish(event)
    except PublishError as error:
        await store.forget(event.job_id)
        log.error("publish failed, job withdrawn", job_id=str(event.job_id), error=str(error))
        raise NotAccepted(f"the broker did not take the job ({error})") from error
    return event.job_id
