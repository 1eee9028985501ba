"""Header fields written from literal text, never parsed as header source.

The standard library's header factory reads any string it is given as raw
header text, RFC 2047 encoded words included: a subject of
"=?utf-8?q?Hi=0D=0ABcc:...?=" was decoded to a line break and written out as
a header line of its own. The fields here are built from the text itself and
fold themselves; text that is not plain printable ASCII is written as encoded
words made here, so whatever a client typed, "=?...?=" included, is what a
reader sees.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from email.policy import Policy

# RFC 5322 asks lines to stay within 78 characters.
LINE_LIMIT = 78
# UTF-8 bytes in one encoded word: 36 bytes are 48 base64 characters, a
# 60-character word, which fits on a line beside any header name used here.
_BYTES_PER_WORD = 36
# A word of unstructured text that a reader takes as it stands.
_PLAIN_WORD = re.compile(r"[!-~]{1,60}")
# A word of a display name that needs neither quoting nor encoding (RFC 5322 atext).
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,60}")
# An address as it may stand in a header: a dot-atom local part, an ASCII host name.
_ADDR_SPEC = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


class UnsafeHeader(ValueError):
    """Text that no header written here can carry as it is."""


class LiteralHeader(str):
    """A header field whose wire form is decided here, not by a parser.

    As a string it is the value a reader sees once the field is decoded;
    `tokens` are its wire form, joined by spaces or, where a line would grow
    too long, by a fold (which readers remove again).
    """

    name: str
    tokens: tuple[str, ...]

    def __new__(cls, name: str, value: str, tokens: Sequence[str]) -> LiteralHeader:
        header = super().__new__(cls, value)
        header.name = name
        header.tokens = tuple(tokens)
        return header

    def fold(self, *, policy: Policy) -> str:
        """The field's lines, as the email generator asks every header for them."""
        lines = [f"{self.name}:"]
        for index, token in enumerate(self.tokens):
            # The first token stays on the name's line, so no line is empty.
            if index > 0 and len(lines[-1]) + 1 + len(token) > LINE_LIMIT:
                lines.append("")
            lines[-1] += f" {token}"
        return policy.linesep.join(lines) + policy.linesep


def text_header(name: str, text: str) -> LiteralHeader:
    """Free text (Subject, and the service's own Date and Message-ID)."""
    words = text.split(" ")
    plain = "=?" not in text and all(_PLAIN_WORD.fullmatch(word) for word in words)
    # Plain words come back exactly as they were, single spaces and all; any
    # other text (leading or doubled spaces, non-ASCII) is encoded.
    return LiteralHeader(name, text, words if plain else encoded_words(text))


def address_header(name: str, mailboxes: Sequence[tuple[str, str]]) -> LiteralHeader:
    """Mailboxes, each a (display name, address): names plain or encoded, addresses as they are."""
    tokens: list[str] = []
    for display_name, addr_spec in mailboxes:
        if tokens:
            tokens[-1] += ","
        tokens.extend(_mailbox_tokens(display_name, addr_spec))
    value = ", ".join(f"{display} <{addr}>" if display else addr for display, addr in mailboxes)
    return LiteralHeader(name, value, tokens)


def _mailbox_tokens(display_name: str, addr_spec: str) -> list[str]:
    # Addresses cannot be encoded, so one that is not plain is refused outright.
    if not _ADDR_SPEC.fullmatch(addr_spec) or "=?" in addr_spec:
        raise UnsafeHeader(f"{addr_spec!r} cannot be written as an address in a header")
    if not display_name:
        return [addr_spec]
    words = display_name.split(" ")
    plain = "=?" not in display_name and all(_ATOM.fullmatch(word) for word in words)
    return [*(words if plain else encoded_words(display_name)), f"<{addr_spec}>"]


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words (UTF-8, base64), each of whole characters."""
    chunks: list[bytes] = []
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _BYTES_PER_WORD:
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]
