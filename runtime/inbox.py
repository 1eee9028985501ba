"""The inbox: the messages a service has finished, so a redelivery does not repeat the work.

RabbitMQ delivers at least once: a consumer that dies after doing the work but
before its ack gets the message again, and a publisher that retries may send
it twice. The runtime records each finished message id here, right after the
handler returns (the smallest window it can make), and skips a message it
finds recorded. Each service has its own inbox: a SQLite file by default, or a
PostgreSQL database shared by replicas on several hosts. Records are kept for
a retention period (see `runtime.retained`).

Lookups and records from concurrent jobs are batched into one query and one
transaction each (see `runtime.batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, String, select

from runtime.database import JSONOrNull
from runtime.retained import RetainedRecords, retained_table

finished = retained_table(
    "inbox",
    Column("message_id", String(64), primary_key=True),
    Column("result", JSONOrNull, nullable=True),
)

Result = dict[str, Any]


class Inbox(RetainedRecords):
    def __init__(self, url: str, retention: timedelta = timedelta(days=7)) -> None:
        super().__init__(url, finished, retention)
        self._lookups = self._batcher(self._look_up)
        self._records = self._batcher(self._record)

    async def result_of(self, message_id: str) -> Result | None:
        """The recorded result if this message was finished before, else None."""
        return await self._lookups.submit(message_id)

    async def record(self, message_id: str, result: Result) -> None:
        """Note the message as finished; returns once that is committed."""
        await self._records.submit((message_id, result))

    async def _look_up(self, message_ids: Sequence[str]) -> list[Result | None]:
        query = select(finished.c.message_id, finished.c.result).where(finished.c.message_id.in_(set(message_ids)))
        async with self._reads() as conn:
            found = {row.message_id: row.result or {} for row in await conn.execute(query)}
        return [found.get(message_id) for message_id in message_ids]

    async def _record(self, entries: Sequence[tuple[str, Result]]) -> list[None]:
        # One row per message, should a batch hold the same message twice.
        rows = {id_: {"message_id": id_, "result": result} for id_, result in entries}
        await self._note(list(rows.values()))
        return [None] * len(entries)
