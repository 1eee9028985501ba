"""SHA-256, size and media type, in one pass."""

from __future__ import annotations

import hashlib
import mimetypes

import filetype

from file_service.source import CHUNK, Outcome, Source

SNIFF_BYTES = 8192


def checksum(source: Source) -> Outcome:
    digest = hashlib.sha256()
    size = 0
    head = b""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with source.open() as file:
        while count := file.readinto(buffer):
            if size < SNIFF_BYTES:
                head += bytes(view[: min(count, SNIFF_BYTES - size)])
            digest.update(view[:count])  # hashlib releases the GIL on large updates
            size += count
    return Outcome({"sha256": digest.hexdigest(), "size": size, "media_type": media_type(head, source.name)})


def media_type(head: bytes, name: str) -> str:
    """From the content's magic numbers; for text, which has none, from the name."""
    found = filetype.guess_mime(head) if head else None
    if found:
        return found
    if not _looks_like_text(head):
        return "application/octet-stream"
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed if guessed and guessed.startswith(("text/", "application/json")) else "text/plain"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sniffed bytes is still text.
        return error.start >= len(head) - 3
    return True
