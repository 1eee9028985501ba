"""Run the operations a job asks for on its source file, one after another, in a worker thread.

The result names the source, gives each operation's findings and time, and
lists every file written under `outputs`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from contracts.events import FileProcessingRequested
from file_service.operations import OPERATIONS
from file_service.settings import FileSettings
from file_service.source import Source
from runtime.errors import TooLarge
from runtime.job import JobContext, Tally, in_thread
from storage import Storage, StoredFile


class FileHandler:
    def __init__(self, settings: FileSettings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    async def __call__(self, event: FileProcessingRequested, job: JobContext) -> dict[str, Any]:
        file = await asyncio.to_thread(self.storage.stat, event.source)
        cap = self.settings.file_max_source_bytes
        if file.size > cap:
            raise TooLarge(f"{file.size} bytes, more than FILE_MAX_SOURCE_BYTES ({cap})")
        tally = Tally(total=file.size * len(event.operations), unit="bytes")
        source = Source(self.storage, file, event.job_id, tally)
        return await in_thread(job, tally, self._run_all, event.operations, source)

    def _run_all(self, operations: list[str], source: Source) -> dict[str, Any]:
        result: dict[str, Any] = {"source": _described(source.file)}
        outputs: list[dict[str, Any]] = []
        for name in operations:
            started = time.perf_counter()
            outcome = self._run(name, source)
            result[name] = {**outcome.summary, "seconds": round(time.perf_counter() - started, 3)}
            if outcome.output is not None:
                outputs.append({"operation": name, **_described(outcome.output)})
        return {**result, "outputs": outputs}

    def _run(self, name: str, source: Source) -> Any:
        with self.storage.translate_errors(source.file.key):
            return OPERATIONS[name](source, self.settings)


def _described(file: StoredFile) -> dict[str, Any]:
    # By key only: a URL would tell clients where the storage root is on this host.
    return {"key": file.key, "size": file.size}
