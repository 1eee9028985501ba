"""The `log` provider: writes each notification to the service log instead of sending it.

The local default, so that a first `POST /v1/notifications` shows its effect
without any provider account.
"""

from __future__ import annotations

import structlog

from contracts.events import Notification
from contracts.notification import NotificationTarget
from notify_service.outcomes import Outcome, without_userinfo
from notify_service.providers import DeliveryKey, address_of

log = structlog.get_logger("offload.notify.log_provider")


class LogProvider:
    async def send(self, target: NotificationTarget, notification: Notification, key: DeliveryKey) -> Outcome:
        log.info(
            "notification logged",
            job_id=str(key.job_id),
            target_index=key.index,
            target=without_userinfo(address_of(target)),
            title=notification.title,
            body=notification.body,
            data=dict(notification.data),
        )
        return Outcome("delivered")
