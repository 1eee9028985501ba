"""POST endpoints that accept work: one per task type, each answering 202 at once."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from contracts.events import Analysis, Email, FileProcessing, Notification, TaskType
from gateway.idempotency import KeyReused
from gateway.intake import NotAccepted
from gateway.routes.deps import GatewayDep

router = APIRouter(prefix="/v1", tags=["tasks"])

# Request bodies are the contract payloads, refusing unknown fields: a typo in
# a field name is a 422, not a silently ignored option.
STRICT = ConfigDict(extra="forbid")


class EmailRequest(Email):
    model_config = STRICT | ConfigDict(
        json_schema_extra={"examples": [{"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}]}
    )


class FileRequest(FileProcessing):
    model_config = STRICT | ConfigDict(
        json_schema_extra={
            "examples": [{"source": "inbox/orders.csv", "operations": ["checksum", "csv_stats", "csv_to_parquet"]}]
        }
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


class AnalysisRequest(Analysis):
    model_config = STRICT | ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [{"city": "Oslo", "amount": 3.5}, {"city": "Rome", "amount": 2}],
                    "operations": [{"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}}],
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


async def _accept(gateway: GatewayDep, task_type: TaskType, body: BaseModel, key: str | None) -> JSONResponse:
    try:
        receipt = await gateway.intake.accept(task_type, body, idempotency_key=key)
    except KeyReused as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Idempotency-Key {key!r} was already used with a different request",
        ) from error
    except NotAccepted as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"job not accepted: {error}; nothing was recorded, try again",
            headers={"Retry-After": "5"},
        ) from error
    if not receipt.replayed:
        gateway.relay.wake()
    headers = {"Location": receipt.body["status_url"]}
    if receipt.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(receipt.body, status_code=receipt.status_code, headers=headers)


@router.post("/emails", status_code=202, response_model=Accepted, responses=RESPONSES)
async def send_email(body: EmailRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Send an email in the background."""
    return await _accept(gateway, TaskType.email, body, key)


@router.post("/files", status_code=202, response_model=Accepted, responses=RESPONSES)
async def process_file(body: FileRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Process a file already in storage (checksum, CSV statistics, conversions)."""
    return await _accept(gateway, TaskType.file, body, key)


@router.post("/notifications", status_code=202, response_model=Accepted, responses=RESPONSES)
async def send_notification(body: NotificationRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Push a notification to one or many targets."""
    return await _accept(gateway, TaskType.notification, body, key)


@router.post("/analytics", status_code=202, response_model=Accepted, responses=RESPONSES)
async def run_analysis(body: AnalysisRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Run a declared pandas pipeline over records or a stored dataset."""
    return await _accept(gateway, TaskType.analysis, body, key)
