"""Spilling a large batch of inline analytics records to storage, so its event stays small.

Records over a size (as JSON) are written to storage as JSON lines and the
request passes them by reference, as a dataset, like any other stored file.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any, TypeVar

from contracts.events import Analysis
from storage import Storage

SPILLED_RECORDS = "analytics/inputs"

A = TypeVar("A", bound=Analysis)


async def spill_large_records(storage: Storage, body: A, limit: int) -> A:
    """The same request with its records in storage when they are over `limit` bytes as JSON.

    Raises StorageUnavailable when they could not be stored."""
    lines = await asyncio.to_thread(_json_lines, body.records or [])
    if len(lines) <= limit:
        return body
    # Named by content: a retried request (Idempotency-Key) becomes the very same event.
    key = f"{SPILLED_RECORDS}/{hashlib.sha256(lines).hexdigest()}.jsonl"
    await asyncio.to_thread(_store, storage, key, lines)
    return type(body).model_construct(records=None, dataset=key, operations=body.operations)


def _json_lines(records: list[dict[str, Any]]) -> bytes:
    return b"\n".join(json.dumps(record, separators=(",", ":")).encode() for record in records)


def _store(storage: Storage, key: str, data: bytes) -> None:
    with storage.translate_errors(key), storage.open_write(key) as file:
        file.write(data)
