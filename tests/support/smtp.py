"""Real SMTP servers (aiosmtpd handlers) that record or refuse what they are sent."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=default_policy).parsebytes(self.content)


class RecordingHandler:
    """Accepts every mail and keeps its envelope for the test to inspect."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued as 42"


class PickyHandler(RecordingHandler):
    """Refuses mailboxes named nobody@ for good and busy@ for now."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"


class DeferringHandler(RecordingHandler):
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "451 4.3.0 try later"


class StallingHandler(RecordingHandler):
    """Holds every DATA until `release` is set: a send still in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.stalled = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.stalled.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


class SlowGoodbyeHandler(RecordingHandler):
    """Accepts every mail at once, then holds the answer to QUIT until `release`:
    the mail is delivered, and the sender has not heard the end of it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.held = 0

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.held += 1
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "221 Bye"
