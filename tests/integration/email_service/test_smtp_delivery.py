"""The email handler with its SMTP mailer against real SMTP servers: what arrives, and how refusals are sorted."""

import base64

import pytest

from contracts.events import EmailRequested
from email_service.handler import EmailHandler
from email_service.settings import EmailSettings
from email_service.smtp import SmtpMailer
from runtime.errors import PermanentError, TransientError

JOB = object()  # the handler never looks inside the runtime's job context

# The auth sink takes passwords over plain text, which is fine on loopback only.
loopback_auth = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def smtp_handler(settings: EmailSettings) -> EmailHandler:
    return EmailHandler(settings, SmtpMailer(settings))


def requested(**fields) -> EmailRequested:
    fields.setdefault("to", ["ada@example.com"])
    fields.setdefault("subject", "Your report is ready")
    fields.setdefault("text", "See attached.\n")
    return EmailRequested(**fields)


async def test_delivers_one_message_to_every_envelope_recipient(sink):
    event = requested(to=["ada@example.com"], cc=["bob@example.com"], bcc=["audit@example.com", "ada@example.com"])

    settings = sink.settings(email_from="Reports <reports@example.org>")

    result = await smtp_handler(settings)(event, JOB)

    message_id = f"<{event.job_id}@offload.local>"
    assert result == {
        "message_id": message_id,
        "recipients": 3,
        "smtp_reply": "250 2.0.0 Ok: queued as 42",
    }
    [received] = sink.handler.received
    assert received.mail_from == "reports@example.org"
    assert received.rcpt_tos == ["ada@example.com", "bob@example.com", "audit@example.com"]
    assert received.message["Message-ID"] == message_id
    assert received.message["Subject"] == "Your report is ready"
    assert b"audit@example.com" not in received.content


async def test_some_recipients_refused_is_still_a_delivery(picky_sink):
    event = requested(to=["ada@example.com", "nobody@example.com"])

    result = await smtp_handler(picky_sink.settings())(event, JOB)

    assert result["recipients"] == 1
    assert result["refused"] == {"nobody@example.com": "550 5.1.1 no such user"}
    [received] = picky_sink.handler.received
    assert received.rcpt_tos == ["ada@example.com"]


async def test_every_recipient_refused_for_good_is_permanent(picky_sink):
    event = requested(to=["nobody@example.com"], cc=["nobody@example.org"])

    with pytest.raises(PermanentError, match="550 5.1.1 no such user") as caught:
        await smtp_handler(picky_sink.settings())(event, JOB)

    assert "nobody@example.org" in str(caught.value)
    assert picky_sink.handler.received == []


async def test_every_recipient_refused_some_for_now_is_transient(picky_sink):
    event = requested(to=["nobody@example.com", "busy@example.com"])

    with pytest.raises(TransientError, match="450 4.2.1 mailbox busy"):
        await smtp_handler(picky_sink.settings())(event, JOB)


async def test_a_4xx_reply_to_data_is_transient(deferring_sink):
    with pytest.raises(TransientError, match="SMTP 451: 4.3.0 try later"):
        await smtp_handler(deferring_sink.settings())(requested(), JOB)


async def test_nothing_listening_is_transient(unreachable):
    where = f"{unreachable.host}:{unreachable.port}"

    with pytest.raises(TransientError, match=f"could not reach SMTP server {where}"):
        await smtp_handler(unreachable.settings())(requested(), JOB)


@loopback_auth
async def test_right_credentials_deliver(auth_sink):
    username, password = auth_sink.credentials
    settings = auth_sink.settings(smtp_username=username, smtp_password=password)

    await smtp_handler(settings)(requested(), JOB)

    assert len(auth_sink.handler.received) == 1


@loopback_auth
async def test_wrong_credentials_are_permanent(auth_sink):
    username, _ = auth_sink.credentials
    settings = auth_sink.settings(smtp_username=username, smtp_password="guess")

    with pytest.raises(PermanentError, match="SMTP 535"):
        await smtp_handler(settings)(requested(), JOB)

    assert auth_sink.handler.received == []


@loopback_auth
async def test_no_credentials_where_required_is_permanent(auth_sink):
    with pytest.raises(PermanentError, match="SMTP 530"):
        await smtp_handler(auth_sink.settings())(requested(), JOB)


@pytest.mark.parametrize(
    "server, tls",
    [("starttls_sink", {"smtp_starttls": True}), ("implicit_tls_sink", {"smtp_tls": True})],
    ids=["starttls-to-a-server-that-requires-it", "implicit-tls"],
)
async def test_tls_delivers(server, tls, request):
    sink = request.getfixturevalue(server)
    settings = sink.settings(**tls, smtp_validate_certs=False)

    await smtp_handler(settings)(requested(), JOB)

    assert len(sink.handler.received) == 1


async def test_plain_text_to_a_server_that_requires_starttls_is_permanent(starttls_sink):
    with pytest.raises(PermanentError, match="SMTP 530"):
        await smtp_handler(starttls_sink.settings(smtp_starttls=False))(requested(), JOB)

    assert starttls_sink.handler.received == []


async def test_starttls_to_a_server_without_it_is_permanent(sink):
    settings = sink.settings(smtp_starttls=True, smtp_validate_certs=False)

    with pytest.raises(PermanentError, match="STARTTLS"):
        await smtp_handler(settings)(requested(), JOB)


async def test_an_unverifiable_certificate_is_not_trusted_by_default(implicit_tls_sink):
    with pytest.raises(TransientError, match="could not reach SMTP server"):
        await smtp_handler(implicit_tls_sink.settings(smtp_tls=True))(requested(), JOB)

    assert implicit_tls_sink.handler.received == []


ATTACK_SUBJECTS = [
    "=?utf-8?q?Hi=0D=0ABcc:_victim@evil.test?=",
    "=?utf-8?b?" + base64.b64encode(b"Hi\r\nFrom: boss@evil.test\r\nReply-To: phish@evil.test").decode() + "?=",
    "=?iso-8859-1?q?H=E9=0ABcc:_victim@evil.test?=",
    "=?utf-8?q?Hi=0D=0AContent-Type:_text/html=0D=0A=0D=0A<h1>Owned</h1>?=",
]


@pytest.mark.parametrize("subject", ATTACK_SUBJECTS)
async def test_an_encoded_line_break_in_the_subject_arrives_as_literal_text(sink, subject):
    event = requested(subject=subject, reply_to=["help@example.com"])

    await smtp_handler(sink.settings())(event, JOB)

    [received] = sink.handler.received
    assert received.rcpt_tos == ["ada@example.com"]
    head, _, _ = received.content.partition(b"\r\n\r\n")
    fields = [line.split(b":")[0] for line in head.splitlines() if line[:1] not in (b" ", b"\t")]
    assert fields == [
        b"From",
        b"To",
        b"Reply-To",
        b"Subject",
        b"Date",
        b"Message-ID",
        b"X-Offload-Job-Id",
        b"Content-Type",
        b"Content-Transfer-Encoding",
        b"MIME-Version",
    ]
    message = received.message
    assert message["Subject"] == subject
    assert [address.addr_spec for address in message["Reply-To"].addresses] == ["help@example.com"]
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "See attached.\r\n"
