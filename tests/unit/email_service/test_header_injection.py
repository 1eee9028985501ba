"""No text a client sends can become a header line or end the headers, however it is encoded.

Each message is serialized, then parsed back the way a receiving server
would read it; the headers must be exactly the ones the service writes, and
the client's text must come back exactly as it was sent.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events import EmailRequested, header_text_problem
from email_service.message import build_message, wire_bytes
from runtime.errors import PermanentError

SENDER = "Offload <noreply@example.org>"
DOMAIN = "mail.example.org"
HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "X-Offload-Job-Id",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
]
BODY = "The body the client asked for.\n"


def b_word(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


# Subjects that used to add headers or replace the body, each literal text
# that must reach the reader as it was typed.
ATTACKS = {
    "q, CRLF": "=?utf-8?q?Hi=0D=0ABcc:_victim@evil.test?=",
    "Q, upper case": "=?UTF-8?Q?Hi=0D=0ABcc:_victim@evil.test?=",
    "b, From and Reply-To": b_word("Hi\r\nFrom: boss@evil.test\r\nReply-To: phish@evil.test"),
    "LF only": "=?utf-8?q?Hi=0ABcc:_victim@evil.test?=",
    "CR only": "=?utf-8?q?Hi=0DBcc:_victim@evil.test?=",
    "latin-1, q": "=?iso-8859-1?q?H=E9=0D=0ABcc:_victim@evil.test?=",
    "latin-1, b": b_word("Hé\r\nBcc: victim@evil.test", "latin-1"),
    "blank line, new body": "=?utf-8?q?Hi=0D=0AContent-Type:_text/html=0D=0A=0D=0A<h1>Owned</h1>?=",
    "between plain words": "Hello =?utf-8?q?=0D=0ABcc:_victim@evil.test?= there",
    "two words": "=?utf-8?q?Hi=0D=0A?= =?utf-8?q?Bcc:_victim@evil.test?=",
}


def requested(**fields) -> EmailRequested:
    fields.setdefault("to", ["ada@example.com"])
    fields.setdefault("subject", "Hello")
    fields.setdefault("text", BODY)
    return EmailRequested(**fields)


def sent(event: EmailRequested, sender: str = SENDER) -> tuple[bytes, EmailMessage]:
    """What goes on the wire, and how a receiving server parses it."""
    raw = wire_bytes(build_message(event, sender, DOMAIN), event, sender, DOMAIN)
    return raw, BytesParser(policy=default_policy).parsebytes(raw)


def header_lines(raw: bytes) -> list[bytes]:
    head, _, _ = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")


@pytest.mark.parametrize("subject", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_encoded_word_in_the_subject_stays_literal_text(subject):
    raw, message = sent(requested(subject=subject))

    assert message.keys() == HEADERS
    assert message["Subject"] == subject
    assert message.get_content() == BODY.replace("\n", "\r\n")
    fields = [line.split(b":")[0] for line in header_lines(raw) if not line.startswith(b" ")]
    assert fields == [name.encode() for name in HEADERS]


@pytest.mark.parametrize("subject", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_attack_subject_comes_back_intact_beside_cc_and_reply_to(subject):
    event = requested(subject=subject, cc=["bob@example.com"], reply_to=["help@example.com"])

    _, message = sent(event)

    assert message["Subject"] == subject
    assert [a.addr_spec for a in message["To"].addresses] == ["ada@example.com"]
    assert [a.addr_spec for a in message["Cc"].addresses] == ["bob@example.com"]
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["help@example.com"]
    assert "Bcc" not in message


def test_a_plain_subject_is_written_plainly():
    raw, _ = sent(requested(subject="Your report is ready"))

    assert b"Subject: Your report is ready\r\n" in raw


@pytest.mark.parametrize("subject", ["  leading", "trailing ", "two  spaces", "x" * 200, "a " * 400 + "b"])
def test_spaces_and_long_words_survive_exactly(subject):
    raw, message = sent(requested(subject=subject))

    assert message["Subject"] == subject
    assert all(len(line) <= 78 for line in header_lines(raw))


@pytest.mark.parametrize(
    "subject", ["Hi\r\nBcc: victim@evil.test", "Hi\nX: 1", "Hi\rX: 1", "Hi\u2028X: 1", "Hi\x85X: 1", "Hi\x0bX"]
)
def test_a_line_break_that_bypassed_the_contract_is_permanent(subject):
    smuggled = EmailRequested.model_construct(**{**requested().model_dump(), "subject": subject})

    with pytest.raises(PermanentError, match="subject: character 3 is U\\+"):
        build_message(smuggled, SENDER, DOMAIN)


@pytest.mark.parametrize(
    "address",
    [
        "a@example.com\r\nBcc: victim@evil.test",
        "=?utf-8?q?x=0D=0ABcc=3A_v?=@example.com",
        "ädä@example.com",
        "Eve <eve@evil.test>",
        "a@example.com, victim@evil.test",
    ],
)
@pytest.mark.parametrize("field", ["to", "cc", "reply_to"])
def test_an_address_that_bypassed_the_contract_is_permanent(field, address):
    smuggled = EmailRequested.model_construct(**{**requested().model_dump(), field: [address]})

    with pytest.raises(PermanentError, match="cannot be written as an address"):
        build_message(smuggled, SENDER, DOMAIN)


@pytest.mark.parametrize(
    "sender",
    [
        "=?utf-8?q?Ops=0D=0ABcc:_victim@evil.test?= <noreply@example.org>",
        "=?utf-8?b?" + base64.b64encode(b"Ops\nReply-To: phish@evil.test").decode() + "?= <noreply@example.org>",
    ],
)
def test_a_sender_name_that_decodes_to_a_line_break_is_refused(sender):
    with pytest.raises(PermanentError, match="EMAIL_FROM: "):
        build_message(requested(), sender, DOMAIN)


@pytest.mark.parametrize(
    ("display_name", "sender"),
    [
        ("Offload, Inc.", '"Offload, Inc." <noreply@example.org>'),
        ("Café Offload", "=?utf-8?q?Caf=C3=A9_Offload?= <noreply@example.org>"),
    ],
)
def test_the_sender_name_reads_back_as_configured(display_name, sender):
    _, message = sent(requested(), sender)

    [address] = message["From"].addresses
    assert (address.display_name, address.addr_spec) == (display_name, "noreply@example.org")


def test_an_internationalised_domain_goes_out_in_ascii():
    event = requested(to=["ada@bücher.example"], cc=["bob@xn--strae-oqa.example"])

    raw, message = sent(event)

    assert [a.addr_spec for a in message["To"].addresses] == ["ada@xn--bcher-kva.example"]
    assert [a.addr_spec for a in message["Cc"].addresses] == ["bob@xn--strae-oqa.example"]
    assert raw.isascii()


def test_a_non_ascii_body_goes_out_as_7bit_ascii_and_intact():
    text = "Grüße aus Zürich, 東京より.\n" * 20
    raw, message = sent(requested(subject="Grüße", text=text, html=f"<p>{text}</p>\n"))

    assert raw.isascii()
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == f"<p>{text}</p>\n"


# The check before sending, on messages built the way the service used to.


def stdlib_built(event: EmailRequested, **raw_headers: str) -> EmailMessage:
    """`event`'s message with headers set as plain strings, which the stdlib parses."""
    message = build_message(event, SENDER, DOMAIN)
    for name, value in raw_headers.items():
        del message[name]
        message[name] = value
    return message


@pytest.mark.parametrize("subject", ATTACKS.values(), ids=ATTACKS.keys())
def test_the_check_before_sending_refuses_a_message_that_reads_differently(subject):
    event = requested(subject=subject)

    with pytest.raises(PermanentError, match="reads differently"):
        wire_bytes(stdlib_built(event, Subject=subject), event, SENDER, DOMAIN)


def test_the_check_before_sending_refuses_a_body_other_than_the_one_asked_for():
    event = requested(text="Meant.\n")
    message = build_message(event, SENDER, DOMAIN)

    with pytest.raises(PermanentError, match="the body differs"):
        wire_bytes(message, event.model_copy(update={"text": "Something else.\n"}), SENDER, DOMAIN)


def test_the_check_before_sending_passes_the_service_s_own_messages():
    event = requested(cc=["bob@example.com"], reply_to=["help@example.com"], html="<p>Hi</p>\n")

    raw = wire_bytes(build_message(event, SENDER, DOMAIN), event, SENDER, DOMAIN)

    assert raw.startswith(b"From: Offload <noreply@example.org>\r\n")


# Properties over arbitrary text: what the contract accepts is sent exactly
# as typed; what it refuses is refused by validation, nothing else.

# Text that mimics header syntax and encoded words, mixed with anything at all.
header_like = st.lists(
    st.sampled_from(
        [
            "=?",
            "?=",
            "utf-8",
            "iso-8859-1",
            "?q?",
            "?b?",
            "?Q?",
            "=0D",
            "=0A",
            "=0D=0A",
            "_",
            " ",
            "  ",
            "\r\n",
            "\n",
            "\r",
            "Bcc:",
            "From:",
            "\u2028",
            "\x85",
            "\t",
            "é",
            "東",
            "👩\u200d💻",
            "\u202e",
        ]
    )
    | st.text(max_size=8),
    min_size=1,
    max_size=40,
).map("".join)
visible_text = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp", "Cf")), min_size=1, max_size=300)
subjects = st.one_of(st.text(max_size=300), visible_text, header_like)
property_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@property_settings
@given(subject=subjects)
@example(subject=ATTACKS["q, CRLF"])
@example(subject="\u2028")
def test_any_subject_is_sent_exactly_or_refused_by_the_contract(subject):
    try:
        event = requested(subject=subject)
    except ValidationError as refused:
        assert [error["loc"] for error in refused.errors()] == [("subject",)]
        assert header_text_problem(subject) is not None or not 1 <= len(subject) <= 998
        return

    raw, message = sent(event)

    assert message.keys() == HEADERS
    assert message["Subject"] == subject
    assert not message["Subject"].defects
    assert message.get_content() == BODY.replace("\n", "\r\n")
    assert raw.isascii()


@property_settings
@given(subject=subjects)
def test_any_subject_that_skipped_the_contract_is_sent_exactly_or_refused_as_permanent(subject):
    event = EmailRequested.model_construct(**{**requested().model_dump(), "subject": subject})
    try:
        _, message = sent(event)
    except PermanentError:
        assert header_text_problem(subject) is not None
        return

    assert message.keys() == HEADERS
    assert message["Subject"] == subject


@property_settings
@given(address=st.emails() | header_like.map(lambda local_part: f"{local_part}@example.com"))
@example(address="=?utf-8?q?x=0D=0ABcc=3A_v?=@example.com")
def test_any_address_is_sent_as_the_contract_keeps_it_or_refused_by_the_contract(address):
    try:
        event = requested(to=[address], cc=[address], reply_to=[address])
    except ValidationError as refused:
        assert {error["loc"][0] for error in refused.errors()} <= {"to", "cc", "reply_to"}
        return

    raw, message = sent(event)

    assert message.keys() == ["From", "To", "Cc", "Reply-To", *HEADERS[2:]]
    for name in ("To", "Cc", "Reply-To"):
        assert [(a.display_name, a.addr_spec) for a in message[name].addresses] == [("", event.to[0])]
    assert raw.isascii()
