"""Taking credentials out of text before it leaves the process.

A handler's exception often quotes the URL it failed to reach, and a URL can
carry `user:password@`. Whatever the runtime turns into a job's error, a dead
letter's headers or a log line goes through `redact_credentials` first.
"""

from __future__ import annotations

import re

REDACTED = "***"

# Runs of non-space text: a URL never contains whitespace, so userinfo cannot cross one.
_WORDS = re.compile(r"\S+")


def redact_credentials(text: str) -> str:
    """`text` with the userinfo of every `scheme://user:password@host` replaced by ***.

    Within a run of non-space text, everything between the first `://` and the
    last `@` after it goes, so a password holding `@`, `/` or `:` is hidden
    whole; at worst a little more than the userinfo is hidden, never less.
    Addresses without a scheme (`ada@example.com`) are left alone.
    """
    if "://" not in text or "@" not in text:
        return text
    return _WORDS.sub(_redact_word, text)


def _redact_word(match: re.Match[str]) -> str:
    word = match.group()
    start = word.find("://")
    if start < 0:
        return word
    start += len("://")
    end = word.rfind("@")
    if end < start:
        return word
    return f"{word[:start]}{REDACTED}{word[end:]}"
