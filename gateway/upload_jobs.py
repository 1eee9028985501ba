"""The job of an uploaded file: recorded with the stored copy, or the copy removed.

An upload is in storage before its job is recorded. A job the intake refuses
leaves no file behind; a repeated request (same Idempotency-Key) is answered
with the first request's job, which reads the first copy, so the new copy goes.
"""

from __future__ import annotations

import asyncio

from contracts.events import FileProcessing, TaskType
from gateway.idempotency import KeyReused
from gateway.intake import Intake, NotAccepted, Receipt
from gateway.uploads import Upload
from storage import Storage


async def accept_upload(
    intake: Intake, storage: Storage, upload: Upload, operations: list[str], key: str | None
) -> Receipt:
    """Record the job that runs `operations` on a stored upload. Raises NotAccepted, KeyReused."""
    body = FileProcessing(source=upload.key, operations=operations)
    # The stored copy has a fresh name each time; the same file under the same
    # name with the same operations is the same request.
    identity = f"{upload.sha256}\n{upload.filename}\n{','.join(operations)}".encode()
    try:
        receipt = await intake.accept(TaskType.file, body, idempotency_key=key, identity=identity)
    except (KeyReused, NotAccepted):
        await _remove(storage, upload)
        raise
    if receipt.replayed:
        await _remove(storage, upload)
    return receipt


async def _remove(storage: Storage, upload: Upload) -> None:
    await asyncio.to_thread(storage.delete, upload.key)
