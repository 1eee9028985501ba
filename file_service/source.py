"""The file a job works on, and where its outputs go."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from runtime.job import Tally
from runtime.metering import MeteredReader
from storage import Storage, StoredFile

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Source:
    storage: Storage
    file: StoredFile
    job_id: UUID
    meter: Tally

    @property
    def name(self) -> str:
        return posixpath.basename(self.file.key)

    def open(self) -> MeteredReader:
        """A read from the start, counted on the job's meter."""
        return MeteredReader(self.storage.open_read(self.file.key), self.meter)

    def output_key(self, name: str) -> str:
        # Named by the job, so a redelivered job rewrites the same outputs.
        return f"outputs/{self.job_id}/{name}"


@dataclass(frozen=True)
class Outcome:
    """What an operation found, and the file it wrote, if any."""

    summary: dict[str, Any]
    output: StoredFile | None = None
