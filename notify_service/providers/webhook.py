"""The `webhook` provider: a signed JSON POST to the target's URL (see `notify_service.signing`)."""

from __future__ import annotations

import json

from contracts.events import Notification
from contracts.notification import NotificationTarget, WebhookTarget
from notify_service.client import HttpClient
from notify_service.outcomes import Outcome, classify
from notify_service.providers import DeliveryKey, payload
from notify_service.signing import IDEMPOTENCY_HEADER, signed_headers

JOB_HEADER = "Offload-Job-Id"


class WebhookProvider:
    def __init__(self, client: HttpClient, secret: bytes) -> None:
        """`client` must be the guarded one: the URL comes from the request."""
        self._client = client
        self._secret = secret

    async def send(self, target: NotificationTarget, notification: Notification, key: DeliveryKey) -> Outcome:
        assert isinstance(target, WebhookTarget)  # the contract matches targets to providers
        body = json.dumps(
            {"id": key.idempotency_key, "job_id": str(key.job_id), **payload(notification)},
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: key.idempotency_key,
            JOB_HEADER: str(key.job_id),
            **signed_headers(self._secret, body),
        }
        response = await self._client.post(str(target.url), body=body, headers=headers)
        return classify(response, "webhook receiver")
