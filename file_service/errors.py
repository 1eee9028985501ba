"""Failures particular to files; storage's own (NotFound, PathRefused) come from `storage`."""

from runtime.errors import PermanentError


class TooLarge(PermanentError):
    """Past a configured cap (source size, columns, decompressed bytes); never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(f"too_large: {message}")


class Unreadable(PermanentError):
    """The file is not what the operation needs (not a CSV, not gzip)."""
