"""POST endpoints for emails and notifications, each answering 202 at once.

Files and analytics have modules of their own (`files`, `analytics`): they also
deal with uploads and storage. What every task route shares is in `accepting`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import ConfigDict

from contracts.events import Email, Notification, TaskType
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.accepting import RESPONSES, STRICT, Accepted, IdempotencyKey, accept
from gateway.routes.deps import GatewayDep

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=StrictJsonRoute)


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


@router.post("/emails", status_code=202, response_model=Accepted, responses=RESPONSES)
async def send_email(body: EmailRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Send an email in the background."""
    return await accept(gateway, TaskType.email, body, key)


@router.post("/notifications", status_code=202, response_model=Accepted, responses=RESPONSES)
async def send_notification(body: NotificationRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Push a notification to one or many targets."""
    return await accept(gateway, TaskType.notification, body, key)
