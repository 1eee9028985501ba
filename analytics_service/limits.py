"""The caps that keep one huge job from taking the service down: it is refused instead, as `TooLarge`."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import TooLarge

OUTPUT_CELL_BYTES = 32
"""What one cell of a table an operation builds costs at the peak: 8 bytes, and
pandas' temporaries while it builds the table, and the copies made to write it."""
JSON_BYTES_HELD = 16
"""What one byte of JSON lines costs once parsed as records and made a frame:
a dict, its keys and boxed values per record, then the frame's columns."""


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

    def check_dataset_columns(self, columns: int) -> None:
        if columns > self.max_columns:
            raise TooLarge(f"the dataset has {columns} columns, over the cap of {self.max_columns}")

    @property
    def max_json_bytes(self) -> int:
        """The JSON lines whose records fit the memory cap."""
        return self.max_memory_bytes // JSON_BYTES_HELD

    def check_json_bytes(self, size: int) -> None:
        if size > self.max_json_bytes:
            raise TooLarge(
                f"{size} bytes of JSON lines would take about {size * JSON_BYTES_HELD} bytes in memory as records, "
                f"over the cap of {self.max_memory_bytes} ({self.max_json_bytes} bytes of JSON)"
            )

    def output_fits(self, rows: int, columns: int) -> bool:
        return columns <= self.max_columns and rows * columns * OUTPUT_CELL_BYTES <= self.max_memory_bytes

    def check_output(self, operation: str, rows: int, columns: int) -> None:
        """Before an operation builds a table of about `rows` by `columns`."""
        if columns > self.max_columns:
            raise TooLarge(f"{operation} would make {columns} columns, over the cap of {self.max_columns}")
        held = rows * columns * OUTPUT_CELL_BYTES
        if held > self.max_memory_bytes:
            raise TooLarge(
                f"{operation} would make a table of about {rows} rows and {columns} columns, "
                f"some {held} bytes in memory, over the cap of {self.max_memory_bytes}"
            )

    def check_memory(self, held: int) -> None:
        if held > self.max_memory_bytes:
            raise TooLarge(
                f"the job would hold more than {self.max_memory_bytes} bytes of data in memory ({held} so far)"
            )
