"""Providers: one small interface, one module per way of pushing a notification.

A provider sends one notification to one target and says what came of it
(`Outcome`). It raises only for what it cannot judge itself (a connection
error, a refused destination), which the handler sorts. The handler picks the
provider a request names; a provider whose settings are missing is absent,
with the reason.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from contracts.events import Notification
from contracts.notification import NotificationTarget
from notify_service.outcomes import Outcome


@dataclass(frozen=True)
class DeliveryKey:
    """Names one target of one job, the same on every attempt, so providers can drop repeats."""

    job_id: UUID
    index: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.job_id}:{self.index}"

    @property
    def collapse_key(self) -> str:
        """Per device or subscription: a repeat of this job replaces the copy still waiting there."""
        return self.job_id.hex

    @property
    def topic(self) -> str:
        # Web Push topics are at most 32 characters of the base64url alphabet.
        digest = hashlib.sha256(self.job_id.bytes).digest()
        return base64.urlsafe_b64encode(digest).decode()[:32]


class Provider(Protocol):
    async def send(self, target: NotificationTarget, notification: Notification, key: DeliveryKey) -> Outcome: ...


def address_of(target: NotificationTarget) -> str:
    return str(getattr(target, type(target).address_field))


def payload(notification: Notification) -> dict[str, object]:
    """What a browser or webhook receiver gets: the notification without its routing."""
    return {"title": notification.title, "body": notification.body, "data": dict(notification.data)}
