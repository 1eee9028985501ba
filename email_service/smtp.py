"""The mailer that speaks SMTP to the configured server (aiosmtplib).

Failures are sorted for the runtime: a 5xx reply or refused credentials will
not change on retry (`PermanentError`); a 4xx reply or an unreachable server
might (`TransientError`). The server's own words go into the error, since
they end up on the job for a person to read.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosmtplib

from email_service.mailer import Accepted
from email_service.settings import EmailSettings
from runtime.errors import PermanentError, TransientError


class SmtpMailer:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> Accepted:
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            refused, reply = await aiosmtplib.send(
                message,
                sender=sender,
                recipients=list(recipients),
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

        return Accepted(
            # aiosmtplib raises on anything but 250 after DATA, so the code is known.
            reply=f"250 {reply}",
            refused={address: f"{r.code} {r.message}" for address, r in refused.items()},
        )

    @property
    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"
