"""Send one requested email through the configured SMTP server.

Failures are sorted for the runtime: a 5xx reply or refused credentials will
not change on retry (`PermanentError`); a 4xx reply or an unreachable server
might (`TransientError`). The server's own words go into the error, since
they end up on the job for a person to read.
"""

from __future__ import annotations

from typing import Any

import aiosmtplib

from contracts.events import EmailRequested
from email_service.message import build_message, envelope_recipients, wire_bytes
from email_service.settings import EmailSettings
from runtime.errors import PermanentError, TransientError


class EmailHandler:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def __call__(self, event: EmailRequested, job: object) -> dict[str, Any]:
        settings = self.settings
        message = build_message(event, settings.email_from, settings.email_message_id_domain)
        # The bytes that were checked are the bytes that are sent.
        raw = wire_bytes(message, event, settings.email_from, settings.email_message_id_domain)
        recipients = envelope_recipients(event)
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            refused, reply = await aiosmtplib.send(
                raw,
                sender=settings.sender,
                recipients=recipients,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                use_tls=settings.smtp_tls,
                # False rather than None: never upgrade opportunistically, so
                # what is configured is exactly what happens.
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout,
                validate_certs=settings.smtp_validate_certs,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            replies = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if all(500 <= r.code < 600 for r in exc.recipients):
                raise PermanentError(f"SMTP refused every recipient: {replies}") from exc
            raise TransientError(f"SMTP refused every recipient: {replies}") from exc
        # Before the OSError clause: a greeting with an error code is both a
        # reply and a connection error, and its code says more.
        except aiosmtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.code}: {exc.message}"
            if 500 <= exc.code < 600:
                raise PermanentError(text) from exc
            raise TransientError(text) from exc
        # SMTPConnectError, SMTPServerDisconnected and SMTPTimeoutError are all
        # OSErrors, and so is asyncio.TimeoutError.
        except OSError as exc:
            raise TransientError(f"could not reach SMTP server {self._where}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            # What is left is a server lacking what the settings demand
            # (STARTTLS, AUTH, SMTPUTF8); retrying the same server won't help.
            raise PermanentError(f"SMTP server {self._where}: {exc.message}") from exc

        result: dict[str, Any] = {
            "message_id": str(message["Message-ID"]),
            "recipients": len(recipients) - len(refused),
            # aiosmtplib raises on anything but 250 after DATA, so the code is known.
            "smtp_reply": f"250 {reply}",
        }
        if refused:
            result["refused"] = {addr: f"{r.code} {r.message}" for addr, r in refused.items()}
        return result

    @property
    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"
