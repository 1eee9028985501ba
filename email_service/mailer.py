"""The mailer: what the email handler hands a finished message to.

The handler builds the message and checks its bytes; a mailer only carries
those bytes to a server and reports what the server said. `SmtpMailer` (in
`email_service.smtp`) is the real one; a handler's unit test hands it a
stand-in instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Accepted:
    """The server took the message: its reply, and the recipients it refused, if some."""

    reply: str
    """The server's whole reply to the message, code first ("250 2.0.0 Ok: queued as 42")."""
    refused: dict[str, str] = field(default_factory=dict)
    """Each refused address, with the server's reply to it ("550 5.1.1 no such user")."""


class Mailer(Protocol):
    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> Accepted:
        """Hand `message` to the server, from `sender` (the envelope's) to `recipients`.

        Raises `PermanentError` when the server will never take it as asked,
        `TransientError` when it might later (runtime.errors).
        """
        ...
