"""How a handler tells the runtime what kind of failure it met.

Handlers raise; they never catch, log and carry on. Any exception is taken as
transient and retried with backoff, except `PermanentError` (and `TooLarge`,
one kind of it), which goes to the dead-letter queue at once.
"""


class PermanentError(Exception):
    """The work can never succeed as asked (bad address, 5xx reply, missing file)."""


class TransientError(Exception):
    """Worth trying again later; `retry_after` asks for a minimum delay in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooLarge(PermanentError):
    """The job is past a configured cap (a file's size, its columns, the memory it would take); never retried.

    The job's error reads "too_large: " and then what was too large, so a
    client can tell this failure apart by the message alone.
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"too_large: {what}")
