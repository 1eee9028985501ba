"""The inbox: the messages a service has finished, so a redelivery does not repeat the work.

RabbitMQ delivers at least once: a consumer that dies after doing the work but
before its ack gets the message again, and a publisher that retries may send
it twice. The runtime records each finished message id here, right after the
handler returns (the smallest window it can make), and skips a message it
finds recorded. Each service has its own inbox: a SQLite file by default, or a
PostgreSQL database shared by replicas on several hosts.

Lookups and records from concurrent jobs are batched into one query and one
transaction each (see `runtime.batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, delete, select

from contracts.events import utc_now
from runtime.batch import Batcher
from runtime.database import Database, JSONOrNull, UTCDateTime

metadata = MetaData()

finished = Table(
    "inbox",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("result", JSONOrNull, nullable=True),
    Column("finished_at", UTCDateTime, nullable=False, index=True),
)

Result = dict[str, Any]


class Inbox:
    def __init__(self, url: str, retention: timedelta = timedelta(days=7)) -> None:
        # A record lost to a power cut costs at most one repeated job, which
        # at-least-once delivery allows anyway; a sync per commit is not worth it.
        self._db = Database(url, metadata, power_safe=False)
        self._retention = retention
        self._lookups: Batcher[str, Result | None] = Batcher(self._look_up)
        self._records: Batcher[tuple[str, Result], None] = Batcher(self._record)

    async def open(self) -> None:
        await self._db.open()
        await self.purge()

    async def close(self) -> None:
        await self._lookups.close()
        await self._records.close()
        await self._db.close()

    async def result_of(self, message_id: str) -> Result | None:
        """The recorded result if this message was finished before, else None."""
        return await self._lookups.submit(message_id)

    async def record(self, message_id: str, result: Result) -> None:
        """Note the message as finished; returns once that is committed."""
        await self._records.submit((message_id, result))

    async def purge(self) -> int:
        """Forget messages finished longer ago than any redelivery could come."""
        async with self._db.writes() as conn:
            outcome = await conn.execute(delete(finished).where(finished.c.finished_at < utc_now() - self._retention))
        return outcome.rowcount

    async def _look_up(self, message_ids: Sequence[str]) -> list[Result | None]:
        query = select(finished.c.message_id, finished.c.result).where(finished.c.message_id.in_(set(message_ids)))
        async with self._db.reads() as conn:
            found = {row.message_id: row.result or {} for row in await conn.execute(query)}
        return [found.get(message_id) for message_id in message_ids]

    async def _record(self, entries: Sequence[tuple[str, Result]]) -> list[None]:
        now = utc_now()
        rows = {id_: {"message_id": id_, "result": result, "finished_at": now} for id_, result in entries}
        async with self._db.writes() as conn:
            await conn.execute(self._db.insert_if_absent(finished), list(rows.values()))
        return [None] * len(entries)
