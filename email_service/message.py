"""Turn an `EmailRequested` into the RFC 5322 message and the SMTP envelope.

The envelope (who the server delivers to) and the headers (what readers see)
differ on purpose: Bcc recipients are in the envelope only.

What the headers must say is worked out once, from the request's literal
text (`meaning`). The message is written from it (see `email_service.headers`
for why the standard library does not write the headers itself), and before
anything is sent the bytes are parsed back and compared with it
(`wire_bytes`): a message that would read differently is never sent.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Any

from contracts.events import EmailRequested, header_text_problem
from email_service.headers import UnsafeHeader, address_header, text_header
from email_service.settings import sender_mailbox
from runtime.errors import PermanentError

# 7-bit: non-ASCII bodies go out as quoted-printable or base64, so the whole
# message is ASCII and needs no 8BITMIME or SMTPUTF8 from the server.
WIRE_POLICY = SMTP.clone(cte_type="7bit")
# Headers the standard library adds for the body; their values are its own.
MIME_HEADERS = frozenset({"Content-Type", "Content-Transfer-Encoding", "MIME-Version"})
# RFC 5322 field names: printable ASCII but the colon.
_FIELD_NAME = re.compile(rb"[!-9;-~]+")

# A header's meaning: free text, or mailboxes as (display name, address).
Mailboxes = tuple[tuple[str, str], ...]
Meaning = dict[str, str | Mailboxes]


def meaning(event: EmailRequested, sender: str, message_id_domain: str) -> Meaning:
    """Each header the message carries, in order, and what a reader must see in it."""
    # The contract refuses such text already; an event that skipped it must
    # not slip through.
    problem = header_text_problem(event.subject)
    if problem is not None:
        raise PermanentError(f"cannot write the email's headers: subject: {problem}")
    try:
        display_name, sender_address = sender_mailbox(sender)
    except ValueError as exc:  # an EMAIL_FROM that skipped the settings' check
        raise PermanentError(f"cannot write the email's headers: {exc}") from exc

    headers: Meaning = {"From": ((display_name, sender_address),), "To": _bare(event.to)}
    if event.cc:
        headers["Cc"] = _bare(event.cc)
    if event.reply_to:
        headers["Reply-To"] = _bare(event.reply_to)
    headers["Subject"] = event.subject
    # Both come from the request, not the clock, so a redelivered job yields
    # the same message and a receiving system can recognise the duplicate.
    headers["Date"] = format_datetime(event.created_at)
    headers["Message-ID"] = f"<{event.job_id}@{message_id_domain}>"
    headers["X-Offload-Job-Id"] = str(event.job_id)
    return headers


def build_message(event: EmailRequested, sender: str, message_id_domain: str) -> EmailMessage:
    """The message for `event`; a `PermanentError` if any of its text cannot be a header."""
    message = EmailMessage(policy=WIRE_POLICY)
    for name, value in meaning(event, sender, message_id_domain).items():
        try:
            message[name] = text_header(name, value) if isinstance(value, str) else address_header(name, value)
        except UnsafeHeader as exc:
            raise PermanentError(f"cannot write the email's headers: {name}: {exc}") from exc

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


def wire_bytes(message: EmailMessage, event: EmailRequested, sender: str, message_id_domain: str) -> bytes:
    """`message` as bytes to send, once a reader of them would see exactly what `event` asks for."""
    raw = message.as_bytes(policy=WIRE_POLICY)
    problem = _misreading(raw, message, event, meaning(event, sender, message_id_domain))
    if problem is not None:
        raise PermanentError(f"refusing to send a message that reads differently than meant: {problem}")
    return raw


def _bare(addresses: list[str]) -> Mailboxes:
    return tuple(("", address) for address in addresses)


def _misreading(raw: bytes, built: EmailMessage, event: EmailRequested, meant: Meaning) -> str | None:
    """How a reader of `raw` would see something other than what was meant, or None."""
    head, blank_line, _ = raw.partition(b"\r\n\r\n")
    if not raw.isascii() or not blank_line:
        return "not 7-bit ASCII with a blank line after the headers"
    mime = [name for name in built.keys() if name not in meant]
    if not MIME_HEADERS.issuperset(mime):
        return f"headers {mime} that were never meant"
    names = _field_names(head)
    if names != [*meant, *mime]:
        return f"header lines {names} instead of {[*meant, *mime]}"

    read = BytesParser(policy=default_policy).parsebytes(raw)
    for name, value in [*meant.items(), *((name, str(built[name])) for name in mime)]:
        problem = _difference(name, value, read[name])
        if problem is not None:
            return problem
    return _body_difference(built, read, event)


def _field_names(head: bytes) -> list[str] | None:
    """Each field's name in a header block, from its lines alone; None if a line is
    neither a field nor its continuation (a bare CR or LF, a line without a name)."""
    names = []
    for line in head.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            return None
        if line[:1] in (b" ", b"\t") and names:
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            return None
        names.append(name.decode("ascii"))
    return names


def _difference(name: str, meant: str | Mailboxes, read: Any) -> str | None:
    if read is None:
        return f"{name} is missing"
    if read.defects:
        return f"{name}: {read.defects[0]}"
    if isinstance(meant, str):
        seen: str | Mailboxes = str(read)
    else:
        seen = tuple((address.display_name, address.addr_spec) for address in read.addresses)
    if seen != meant:
        return f"{name} reads {seen!r} instead of {meant!r}"
    return None


def _body_difference(built: EmailMessage, read: EmailMessage, event: EmailRequested) -> str | None:
    """How the MIME parts read back differ from the ones built, and the text from the one asked for."""
    built_parts, read_parts = list(built.walk()), list(read.walk())
    if len(read_parts) != len(built_parts):
        return f"{len(read_parts)} MIME parts instead of {len(built_parts)}"
    for built_part, read_part in zip(built_parts[1:], read_parts[1:], strict=True):
        if read_part.items() != built_part.items():
            return f"a MIME part's headers read {read_part.items()} instead of {built_part.items()}"
    bodies = [body for body in (event.text, event.html) if body is not None]
    leaves = [part for part in read_parts if not part.is_multipart()]
    if [_lines(leaf.get_content()) for leaf in leaves] != [_lines(body) for body in bodies]:
        return "the body differs from the one asked for"
    return None


def _lines(text: str) -> list[bytes]:
    # Bodies travel with CRLF line ends, whatever the client used.
    return text.encode("utf-8").splitlines()
