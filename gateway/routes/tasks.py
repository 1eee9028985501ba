"""POST endpoints that accept work: one per task type, each answering 202 at once."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict

from contracts.events import Analysis, Email, FileProcessing, Notification, TaskType
from gateway.intake import NotAccepted, accept
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


UNAVAILABLE = {503: {"description": "The job could not be queued; nothing was recorded. Retry later."}}


async def _accept(gateway: GatewayDep, task_type: TaskType, body: BaseModel, response: Response) -> Accepted:
    try:
        job_id = await accept(gateway.store, gateway.broker, task_type, body)
    except NotAccepted as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"job not accepted: {error}; nothing was queued, try again",
            headers={"Retry-After": "5"},
        ) from error
    status_url = f"/v1/jobs/{job_id}"
    response.headers["Location"] = status_url
    return Accepted(job_id=job_id, status_url=status_url)


@router.post("/emails", status_code=202, responses=UNAVAILABLE)
async def send_email(body: EmailRequest, gateway: GatewayDep, response: Response) -> Accepted:
    """Send an email in the background."""
    return await _accept(gateway, TaskType.email, body, response)


@router.post("/files", status_code=202, responses=UNAVAILABLE)
async def process_file(body: FileRequest, gateway: GatewayDep, response: Response) -> Accepted:
    """Process a file already in storage (checksum, CSV statistics, conversions)."""
    return await _accept(gateway, TaskType.file, body, response)


@router.post("/notifications", status_code=202, responses=UNAVAILABLE)
async def send_notification(body: NotificationRequest, gateway: GatewayDep, response: Response) -> Accepted:
    """Push a notification to one or many targets."""
    return await _accept(gateway, TaskType.notification, body, response)


@router.post("/analytics", status_code=202, responses=UNAVAILABLE)
async def run_analysis(body: AnalysisRequest, gateway: GatewayDep, response: Response) -> Accepted:
    """Run a declared pandas pipeline over records or a stored dataset."""
    return await _accept(gateway, TaskType.analysis, body, response)
