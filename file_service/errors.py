"""Failures particular to files; storage's own (NotFound, PathRefused) come from `storage`,
and a file past a cap is refused with the runtime's `TooLarge`, as every service refuses it."""

from runtime.errors import PermanentError


class Unreadable(PermanentError):
    """The file is not what the operation needs (not a CSV, not gzip)."""
