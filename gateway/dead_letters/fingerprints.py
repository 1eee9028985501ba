"""Fingerprints: one short hash for every failure of the same kind.

Two failures are of the same kind when they differ only in what varies from
one occurrence to the next (addresses, ids, numbers, quoted values), so an
operator sees one group per cause instead of one line per message.
"""

from __future__ import annotations

import hashlib
import re

# What varies between occurrences of the same failure, most specific first.
_VOLATILE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"(?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w)"), "<value>"),
    # Hex ids: 0x..., or 8+ hex digits with at least one digit and one letter.
    (re.compile(r"\b(?:0x[0-9a-f]+|(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,})\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(message: str) -> str:
    """The error message with addresses, ids, numbers and quoted values taken out."""
    for pattern, placeholder in _VOLATILE:
        message = pattern.sub(placeholder, message)
    return message.strip()


def fingerprint(service: str, reason: str, error_type: str | None, error_message: str | None) -> str:
    """A short stable hash that is equal for failures of the same kind."""
    key = "\x1f".join((service, reason, error_type or "", normalise(error_message or "")))
    return hashlib.sha256(key.encode()).hexdigest()[:12]
