"""A CSV's column count, read off its header line before pyarrow parses anything.

pyarrow builds a parser and a column for every name of the header as it opens
the file, before any cap can be checked: 100,000 names in under a megabyte
cost a gigabyte. Counting the names first lets a service refuse such a file
for the price of reading its first line.
"""

from __future__ import annotations

import re
from typing import BinaryIO

HEADER_MAX_BYTES = 1024 * 1024
"""A header line longer than this is refused: a thousand names of a thousand bytes each fit."""
_HEADER_CHUNK = 64 * 1024
# The header line: unquoted text and whole quoted names, which may hold line breaks (pyarrow allows them there).
_HEADER_LINE = re.compile(rb'(?:[^"\r\n]+|"[^"]*")*')
_QUOTED = re.compile(rb'"[^"]*"')


def header_columns(file: BinaryIO, max_bytes: int = HEADER_MAX_BYTES) -> int | None:
    """How many columns the CSV's first line names, or None when that line is longer than `max_bytes`.

    Reads at most `max_bytes` and a byte more.
    """
    head = b""
    end = 0  # how far the header line is known to go
    while True:
        end = _HEADER_LINE.match(head, end).end()  # type: ignore[union-attr]  # it matches the empty string
        if head[end : end + 1] in (b"\r", b"\n"):
            return _count_columns(head[:end])
        if len(head) > max_bytes:
            return None
        chunk = file.read(min(_HEADER_CHUNK, max_bytes + 1 - len(head)))
        if not chunk:
            return _count_columns(head)  # the whole file is its header line
        head += chunk


def _count_columns(line: bytes) -> int:
    # Commas inside quotes separate nothing; a quote left open counts its commas (too many, never too few).
    return _QUOTED.sub(b"", line).count(b",") + 1
