"""Reading a file in a worker thread, counted on the job's tally: how a job that reads files reports its progress.

The file operations and the CSV and JSON lines datasets all count their bytes
this way, so a progress in bytes means the same in every service.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from runtime.job import Tally


class MeteredReader(io.RawIOBase):
    """A read-only file that counts what passes through it, and stops when the job is cancelled."""

    def __init__(self, file: BinaryIO, tally: Tally) -> None:
        self._file = file
        self._tally = tally

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._tally.stop_if_cancelled()
        count = self._file.readinto(buffer)  # type: ignore[attr-defined]
        self._tally.done += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()
