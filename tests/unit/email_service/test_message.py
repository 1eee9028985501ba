from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.events import EmailRequested
from email_service.message import build_message, envelope_recipients
from runtime.errors import PermanentError

SENDER = "Offload <noreply@example.org>"
DOMAIN = "mail.example.org"


def requested(**fields) -> EmailRequested:
    fields.setdefault("to", ["ada@example.com"])
    fields.setdefault("subject", "Hello")
    if "html" not in fields:
        fields.setdefault("text", "Hi there.\n")
    return EmailRequested(**fields)


def sent_form(message: EmailMessage) -> EmailMessage:
    """The message as a receiving server would parse it from the wire."""
    return BytesParser(policy=default_policy).parsebytes(message.as_bytes())


def content(part: EmailMessage) -> str:
    # On the wire every line ends in CRLF; compare text as it was written.
    return part.get_content().replace("\r\n", "\n")


def test_text_only_is_a_single_plain_part():
    message = sent_form(build_message(requested(text="Just text.\n"), SENDER, DOMAIN))

    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()
    assert content(message) == "Just text.\n"
    assert message["From"] == SENDER
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Hello"
    assert message["Date"] is not None


def test_html_only_is_a_single_html_part():
    message = sent_form(build_message(requested(html="<p>Only html</p>\n"), SENDER, DOMAIN))

    assert message.get_content_type() == "text/html"
    assert content(message) == "<p>Only html</p>\n"


def test_text_and_html_are_alternatives_with_html_preferred():
    event = requested(text="Plain.\n", html="<p>Rich</p>\n")
    message = sent_form(build_message(event, SENDER, DOMAIN))

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert content(message.get_body(preferencelist=("html",))) == "<p>Rich</p>\n"
    assert content(message.get_body(preferencelist=("plain",))) == "Plain.\n"


def test_cc_and_reply_to_are_headers():
    event = requested(cc=["bob@example.com", "cy@example.com"], reply_to=["help@example.com"])
    message = sent_form(build_message(event, SENDER, DOMAIN))

    assert message["Cc"] == "bob@example.com, cy@example.com"
    assert message["Reply-To"] == "help@example.com"


def test_headers_absent_when_not_asked_for():
    message = build_message(requested(), SENDER, DOMAIN)

    assert message["Cc"] is None
    assert message["Reply-To"] is None
    assert message["Bcc"] is None


def test_bcc_is_an_envelope_recipient_only():
    event = requested(bcc=["secret@example.com"])
    message = build_message(event, SENDER, DOMAIN)

    assert message["Bcc"] is None
    assert b"secret@example.com" not in message.as_bytes()
    assert "secret@example.com" in envelope_recipients(event)


def test_envelope_recipients_are_deduplicated_in_order():
    event = requested(
        to=["ada@example.com", "bob@example.com", "ada@example.com"],
        cc=["cy@example.com", "bob@example.com"],
        bcc=["ada@example.com", "dee@example.com"],
    )

    assert envelope_recipients(event) == [
        "ada@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
    ]


def test_message_id_is_derived_from_the_job_so_redeliveries_match():
    job_id = uuid4()
    first = build_message(requested(job_id=job_id, message_id=uuid4()), SENDER, DOMAIN)
    again = build_message(requested(job_id=job_id, message_id=uuid4(), attempt=2), SENDER, DOMAIN)
    other = build_message(requested(), SENDER, DOMAIN)

    assert first["Message-ID"] == again["Message-ID"] == f"<{job_id}@{DOMAIN}>"
    assert other["Message-ID"] != first["Message-ID"]
    assert first["X-Offload-Job-Id"] == str(job_id)


def test_non_ascii_subject_and_body_survive_the_wire():
    subject = "Réunion à 10h – café ☕ 東京"
    text = "Grüße aus Zürich, 東京より.\n"
    raw = build_message(requested(subject=subject, text=text), SENDER, DOMAIN).as_bytes()

    headers, _, _ = raw.partition(b"\r\n\r\n")
    assert headers.isascii()  # RFC 2047 encoded words, not raw UTF-8
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert message["Subject"] == subject
    assert message.get_content_charset() == "utf-8"
    assert content(message) == text


def test_non_ascii_display_name_of_the_sender_is_encoded():
    raw = build_message(requested(), "Café Offload <noreply@example.org>", DOMAIN).as_bytes()

    headers, _, _ = raw.partition(b"\r\n\r\n")
    assert headers.isascii()
    sender = BytesParser(policy=default_policy).parsebytes(raw)["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Café Offload", "noreply@example.org")


def test_contract_refuses_a_subject_that_would_inject_headers():
    with pytest.raises(ValidationError, match="subject"):
        requested(subject="Hello\r\nBcc: victim@example.com")


@pytest.mark.parametrize("subject", ["Hello\r\nBcc: victim@example.com", "Hi\nX-Evil: 1", "Hi\rX: 1"])
def test_message_refuses_line_breaks_even_if_the_contract_is_bypassed(subject):
    smuggled = EmailRequested.model_construct(**{**requested().model_dump(), "subject": subject})

    with pytest.raises(PermanentError, match=r"subject: character \d is U\+000[AD]"):
        build_message(smuggled, SENDER, DOMAIN)


def test_message_refuses_line_breaks_in_a_bypassed_address():
    smuggled = EmailRequested.model_construct(
        **{**requested().model_dump(), "reply_to": ["a@example.com\r\nBcc: victim@example.com"]}
    )

    with pytest.raises(PermanentError, match="cannot be written as an address"):
        build_message(smuggled, SENDER, DOMAIN)
