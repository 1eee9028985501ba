"""The caps that keep one huge job from taking the service down: it is refused instead."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import PermanentError


class TooLarge(PermanentError):
    """The job is over a cap; it goes to the dead-letter queue, never to a retry."""

    def __init__(self, what: str) -> None:
        # The prefix lets a client tell this failure apart by its message alone.
        super().__init__(f"too_large: {what}")


@dataclass(frozen=True)
class Limits:
    max_dataset_bytes: int
    max_rows: int
    max_columns: int
    max_memory_bytes: int
    """Data one job holds at once: the Arrow bytes of the columns read, or of its partial aggregates."""
    chunk_rows: int

    def check_bytes(self, size: int) -> None:
        if size > self.max_dataset_bytes:
            raise TooLarge(f"the dataset is {size} bytes, over the cap of {self.max_dataset_bytes}")

    def check_rows(self, rows: int) -> None:
        if rows > self.max_rows:
            raise TooLarge(f"the dataset has more than {self.max_rows} rows ({rows} seen)")

    def check_columns(self, columns: int) -> None:
        if columns > self.max_columns:
            raise TooLarge(f"the pipeline reads {columns} columns, over the cap of {self.max_columns}")

    def check_memory(self, held: int) -> None:
        if held > self.max_memory_bytes:
            raise TooLarge(
                f"the job would hold more than {self.max_memory_bytes} bytes of data in memory ({held} so far)"
            )
