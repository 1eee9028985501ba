"""The email handler with a stand-in mailer: what it hands over, what it returns, how failures pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest

from contracts.events import EmailRequested
from email_service.handler import EmailHandler
from email_service.mailer import Accepted
from email_service.settings import EmailSettings
from runtime.errors import PermanentError, TransientError

JOB = object()  # the handler never looks inside the runtime's job context
SETTINGS = EmailSettings(
    _env_file=None, email_from="Reports <reports@example.org>", email_message_id_domain="mail.example.org"
)


@dataclass(frozen=True)
class Sent:
    message: bytes
    sender: str
    recipients: list[str]

    @property
    def parsed(self) -> EmailMessage:
        return BytesParser(policy=default_policy).parsebytes(self.message)


class StandInMailer:
    """Records what it is asked to send; answers `accepted`, or raises `error` when told to."""

    def __init__(self, accepted: Accepted | None = None, error: Exception | None = None) -> None:
        self.accepted = accepted or Accepted("250 2.0.0 Ok: queued as 7")
        self.error = error
        self.sent: list[Sent] = []

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> Accepted:
        self.sent.append(Sent(message, sender, list(recipients)))
        if self.error is not None:
            raise self.error
        return self.accepted


def requested(**fields) -> EmailRequested:
    fields.setdefault("to", ["ada@example.com"])
    fields.setdefault("subject", "Your report is ready")
    fields.setdefault("text", "See attached.\n")
    return EmailRequested(**fields)


async def test_hands_over_the_message_with_bcc_in_the_envelope_only():
    mailer = StandInMailer()
    event = requested(cc=["bob@example.com"], bcc=["audit@example.com", "ada@example.com"])

    await EmailHandler(SETTINGS, mailer)(event, JOB)

    [sent] = mailer.sent
    assert sent.sender == "reports@example.org"
    assert sent.recipients == ["ada@example.com", "bob@example.com", "audit@example.com"]
    assert sent.message.isascii()
    assert b"audit@example.com" not in sent.message
    message = sent.parsed
    assert message["From"] == "Reports <reports@example.org>"
    assert message["To"] == "ada@example.com"
    assert message["Cc"] == "bob@example.com"
    assert message["Bcc"] is None
    assert message["Subject"] == "Your report is ready"
    assert message["X-Offload-Job-Id"] == str(event.job_id)
    assert message.get_content() == "See attached.\r\n"


async def test_returns_the_message_id_the_recipient_count_and_the_server_s_reply():
    event = requested(to=["ada@example.com", "bob@example.com"])

    result = await EmailHandler(SETTINGS, StandInMailer())(event, JOB)

    assert result == {
        "message_id": f"<{event.job_id}@mail.example.org>",
        "recipients": 2,
        "smtp_reply": "250 2.0.0 Ok: queued as 7",
    }


async def test_recipients_the_server_refused_are_reported_and_not_counted():
    accepted = Accepted("250 2.0.0 Ok", refused={"bob@example.com": "550 5.1.1 no such user"})
    event = requested(to=["ada@example.com", "bob@example.com"], cc=["cy@example.com"])

    result = await EmailHandler(SETTINGS, StandInMailer(accepted))(event, JOB)

    assert result["recipients"] == 2
    assert result["refused"] == {"bob@example.com": "550 5.1.1 no such user"}


@pytest.mark.parametrize(
    "error",
    [PermanentError("SMTP 550: 5.7.1 relaying denied"), TransientError("SMTP 451: try later", retry_after=30)],
    ids=["permanent", "transient"],
)
async def test_a_mailer_s_failure_reaches_the_runtime_as_it_was_raised(error):
    with pytest.raises(type(error)) as raised:
        await EmailHandler(SETTINGS, StandInMailer(error=error))(requested(), JOB)

    # The same error, so its kind, its words and any retry_after are what the runtime sees.
    assert raised.value is error


async def test_the_same_job_sends_the_same_message_every_time():
    mailer = StandInMailer()
    event = requested()
    handler = EmailHandler(SETTINGS, mailer)

    first = await handler(event, JOB)
    again = await handler(event, JOB)
    other = await handler(requested(), JOB)

    # A redelivered job must be recognisable as the duplicate it is.
    assert first["message_id"] == again["message_id"] == f"<{event.job_id}@mail.example.org>"
    assert mailer.sent[0].message == mailer.sent[1].message
    assert other["message_id"] != first["message_id"]
    assert [sent.parsed["Message-ID"] for sent in mailer.sent] == [
        first["message_id"],
        again["message_id"],
        other["message_id"],
    ]


async def test_a_message_that_cannot_be_written_is_permanent_and_never_handed_over():
    smuggled = EmailRequested.model_construct(**{**requested().model_dump(), "subject": "Hi\r\nBcc: x@evil.test"})
    mailer = StandInMailer()

    with pytest.raises(PermanentError, match="cannot write the email's headers"):
        await EmailHandler(SETTINGS, mailer)(smuggled, JOB)

    assert mailer.sent == []
