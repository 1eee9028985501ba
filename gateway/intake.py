"""Accepting jobs: each one's record, outgoing event and idempotency key, in one transaction.

Requests that arrive together are written together (group commit, see
`runtime.batch`): one transaction for the whole batch, each request still
getting its own answer. The job store records the jobs, the outbox their
events; once they are committed, the intake tells whoever publishes the
outbox (`on_recorded`, the relay's wake-up) that there is work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import TASK_EVENTS, Envelope, TaskType
from gateway import idempotency
from gateway.outbox import Outbox
from gateway.store import AcceptedJob, JobStore
from runtime.batch import Batcher, Outcome
from runtime.database import Database

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


@dataclass(frozen=True)
class _Request:
    task_type: TaskType
    event: Envelope
    key: str | None
    request_hash: str | None


class Intake:
    def __init__(
        self,
        db: Database,
        store: JobStore,
        *,
        key_ttl: float = 86_400,
        on_recorded: Callable[[], None] | None = None,
    ) -> None:
        """`on_recorded` is called after a transaction that added events to the outbox committed."""
        self._db = db
        self._store = store
        self._key_ttl = key_ttl
        self._on_recorded = on_recorded
        self._batches: Batcher[_Request, Receipt] = Batcher(self._record)

    async def accept(
        self,
        task_type: TaskType,
        payload: BaseModel,
        idempotency_key: str | None = None,
        identity: bytes | None = None,
    ) -> Receipt:
        """Record the job and its event (the relay publishes it). Raises NotAccepted, KeyReused.

        `identity` is what makes two requests with one Idempotency-Key the same
        request; by default the payload itself."""
        # The payload was validated as the request body, by the same model the
        # event extends; only the envelope's defaults are new.
        event = TASK_EVENTS[task_type].model_construct(**payload.__dict__)
        request_hash = None
        if idempotency_key is not None:
            identity = identity if identity is not None else payload.model_dump_json().encode()
            request_hash = idempotency.request_hash(task_type.value.encode(), identity)
        return await self._batches.submit(_Request(task_type, event, idempotency_key, request_hash))

    async def close(self) -> None:
        await self._batches.close()

    async def _record(self, requests: Sequence[_Request]) -> list[Outcome[Receipt]]:
        try:
            async with self._db.writes() as conn:
                outcomes: list[Outcome[Receipt]] = []
                admitted: list[_Request] = []
                for request in requests:
                    body = receipt_body(request.event)
                    if request.key is not None:
                        try:
                            stored = await idempotency.claim(
                                self._db,
                                conn,
                                request.key,
                                request=request.request_hash or "",
                                status_code=ACCEPTED,
                                response=body,
                                ttl=self._key_ttl,
                            )
                        except idempotency.KeyReused as error:
                            outcomes.append(error)
                            continue
                        if stored is not None:
                            outcomes.append(Receipt(stored.status_code, stored.response, replayed=True))
                            continue
                    admitted.append(request)
                    outcomes.append(Receipt(ACCEPTED, body))
                if admitted:
                    await self._insert(conn, admitted)
        except (SQLAlchemyError, OSError) as error:
            log.error("job store unavailable", error=str(error))
            raise NotAccepted("the job store is unavailable") from error
        if admitted and self._on_recorded is not None:
            self._on_recorded()
        return outcomes

    async def _insert(self, conn: AsyncConnection, requests: Sequence[_Request]) -> None:
        await self._store.record_queued(
            conn, [AcceptedJob(r.event.job_id, r.task_type, r.event.created_at) for r in requests]
        )
        await Outbox.add_many(
            conn,
            [
                {
                    "message_id": str(r.event.message_id),
                    "routing_key": r.event.routing_key,
                    "body": r.event.__pydantic_serializer__.to_json(r.event),
                }
                for r in requests
            ],
        )


def receipt_body(event: Envelope) -> dict[str, Any]:
    return {"job_id": str(event.job_id), "status_url": f"/v1/jobs/{event.job_id}"}
