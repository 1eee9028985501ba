"""Accepting a job over HTTP, as every task route does: the 202, and the 422 or 503 when it is refused.

The routes validate their request and hand the job to the gateway's intake;
what the intake answers becomes the same HTTP answer whichever the task.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Header, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from contracts.events import TaskType
from gateway.idempotency import KeyReused
from gateway.intake import NotAccepted, Receipt
from gateway.state import Gateway

# Request bodies are the contract payloads, refusing unknown fields: a typo in
# a field name is a 422, not a silently ignored option. A number that JSON
# parsing turned into infinity (1e309) is refused too, where it stands.
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class Accepted(BaseModel):
    job_id: UUID
    status_url: str


RESPONSES = {
    422: {"description": "Invalid body, or an Idempotency-Key already used for another body."},
    503: {"description": "The job store is unreachable; nothing was recorded. Retry later."},
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a request safely: the same key and body return the first answer.",
    ),
]


def not_accepted(reason: str) -> HTTPException:
    """A 503 for a job that could not be recorded: nothing was kept, so the client tries again."""
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=f"job not accepted: {reason}; nothing was recorded, try again",
        headers={"Retry-After": "5"},
    )


@contextmanager
def refusals_answered(key: str | None) -> Iterator[None]:
    """The intake's refusals, raised as their HTTP answers: a reused key's 422, a store's 503."""
    try:
        yield
    except KeyReused as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Idempotency-Key {key!r} was already used with a different request",
        ) from error
    except NotAccepted as error:
        raise not_accepted(str(error)) from error


def accepted(receipt: Receipt) -> JSONResponse:
    """The intake's receipt as the answer: where to follow the job, and whether this is a replay."""
    headers = {"Location": receipt.body["status_url"]}
    if receipt.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(receipt.body, status_code=receipt.status_code, headers=headers)


async def accept(gateway: Gateway, task_type: TaskType, body: BaseModel, key: str | None) -> JSONResponse:
    """Record the job of a validated request, and answer for it."""
    with refusals_answered(key):
        receipt = await gateway.intake.accept(task_type, body, idempotency_key=key)
    return accepted(receipt)
