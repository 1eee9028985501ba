"""Turn an `EmailRequested` into the RFC 5322 message and the SMTP envelope.

The envelope (who the server delivers to) and the headers (what readers see)
differ on purpose: Bcc recipients are in the envelope only.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from contracts.events import EmailRequested


def build_message(event: EmailRequested, sender: str, message_id_domain: str) -> EmailMessage:
    # The SMTP policy raises on a CR or LF in any header value instead of
    # folding it, so header injection fails even if the contract was bypassed.
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = _addresses(event.to)
    if event.cc:
        message["Cc"] = _addresses(event.cc)
    if event.reply_to:
        message["Reply-To"] = _addresses(event.reply_to)
    message["Subject"] = event.subject
    # Both come from the request, not the clock, so a redelivered job yields
    # the same message and a receiving system can recognise the duplicate.
    message["Date"] = format_datetime(event.created_at)
    message["Message-ID"] = f"<{event.job_id}@{message_id_domain}>"
    message["X-Offload-Job-Id"] = str(event.job_id)

    if event.text is not None:
        message.set_content(event.text)
        if event.html is not None:
            message.add_alternative(event.html, subtype="html")
    else:
        message.set_content(event.html, subtype="html")
    return message


def envelope_recipients(event: EmailRequested) -> list[str]:
    """Everyone the server should deliver to, Bcc included, each once."""
    return list(dict.fromkeys([*event.to, *event.cc, *event.bcc]))


def _addresses(addr_specs: list[str]) -> tuple[Address, ...]:
    return tuple(Address(addr_spec=addr_spec) for addr_spec in addr_specs)
