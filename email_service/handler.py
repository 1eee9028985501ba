"""Send one requested email: build the message, check its bytes, hand them to the mailer.

The handler decides what is sent and to whom (Bcc recipients in the envelope
only); the mailer it is handed (`email_service.mailer`) carries the bytes to
a server and sorts the server's refusals into permanent and transient ones.
"""

from __future__ import annotations

from typing import Any

from contracts.events import EmailRequested
from email_service.mailer import Mailer
from email_service.message import build_message, envelope_recipients, wire_bytes
from email_service.settings import EmailSettings


class EmailHandler:
    def __init__(self, settings: EmailSettings, mailer: Mailer) -> None:
        self.settings = settings
        self.mailer = mailer

    async def __call__(self, event: EmailRequested, job: object) -> dict[str, Any]:
        settings = self.settings
        message = build_message(event, settings.email_from, settings.email_message_id_domain)
        # The bytes that were checked are the bytes that are sent.
        raw = wire_bytes(message, event, settings.email_from, settings.email_message_id_domain)
        recipients = envelope_recipients(event)
        accepted = await self.mailer.send(raw, sender=settings.sender, recipients=recipients)

        result: dict[str, Any] = {
            "message_id": str(message["Message-ID"]),
            "recipients": len(recipients) - len(accepted.refused),
            "smtp_reply": accepted.reply,
        }
        if accepted.refused:
            result["refused"] = dict(accepted.refused)
        return result
