"""POST endpoints that accept work, each answering 202 at once, and the acceptance they share.

Files and analytics have modules of their own (`files`, `analytics`): they also
deal with uploads and storage.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from contracts.events import Email, Notification, TaskType
from gateway.idempotency import KeyReused
from gateway.intake import NotAccepted
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.deps import GatewayDep

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=StrictJsonRoute)

# Request bodies are the contract payloads, refusing unknown fields: a typo in
# a field name is a 422, not a silently ignored option. A number that JSON
# parsing turned into infinity (1e309) is refused too, where it stands.
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class EmailRequest(Email):
    model_config = STRICT | ConfigDict(
        json_schema_extra={"examples": [{"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}]}
    )


class NotificationRequest(Notification):
    model_config = STRICT | ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "webhook",
                    "targets": [{"url": "https://hooks.example.com/offload"}],
                    "title": "Build finished",
                    "body": "All green",
                }
            ]
        }
    )


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


async def accept(
    gateway: GatewayDep, task_type: TaskType, body: BaseModel, key: str | None, identity: bytes | None = None
) -> JSONResponse:
    try:
        receipt = await gateway.intake.accept(task_type, body, idempotency_key=key, identity=identity)
    except KeyReused as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Idempotency-Key {key!r} was already used with a different request",
        ) from error
    except NotAccepted as error:
        raise not_accepted(str(error)) from error
    headers = {"Location": receipt.body["status_url"]}
    if receipt.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(receipt.body, status_code=receipt.status_code, headers=headers)


@router.post("/emails", status_code=202, response_model=Accepted, responses=RESPONSES)
async def send_email(body: EmailRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Send an email in the background."""
    return await accept(gateway, TaskType.email, body, key)


@router.post("/notifications", status_code=202, response_model=Accepted, responses=RESPONSES)
async def send_notification(body: NotificationRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Push a notification to one or many targets."""
    return await accept(gateway, TaskType.notification, body, key)
