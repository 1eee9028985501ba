"""The inbox: the messages a service has finished, so a redelivery does not repeat the work.

RabbitMQ delivers at least once: a consumer that dies after doing the work but
before its ack gets the message again, and a publisher that retries may send
it twice. The runtime records each finished message id here, right after the
handler returns (the smallest window it can make), and skips a message it
finds recorded. Each service has its own inbox: a SQLite file by default, or a
PostgreSQL database shared by replicas on several hosts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Column, MetaData, String, Table, delete, select

from contracts.events import utc_now
from runtime.database import Database, JSONOrNull, UTCDateTime

metadata = MetaData()

finished = Table(
    "inbox",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("result", JSONOrNull, nullable=True),
    Column("finished_at", UTCDateTime, nullable=False, index=True),
)


class Inbox:
    def __init__(self, url: str, retention: timedelta = timedelta(days=7)) -> None:
        self._db = Database(url, metadata)
        self._retention = retention

    async def open(self) -> None:
        await self._db.open()
        await self.purge()

    async def close(self) -> None:
        await self._db.close()

    async def result_of(self, message_id: UUID) -> dict[str, Any] | None:
        """The recorded result if this message was finished before, else None."""
        async with self._db.reads() as conn:
            row = (await conn.execute(select(finished.c.result).where(finished.c.message_id == str(message_id)))).first()
        return None if row is None else (row.result or {})

    async def record(self, message_id: UUID, result: dict[str, Any]) -> None:
        async with self._db.writes() as conn:
            values = {"message_id": str(message_id), "result": result, "finished_at": utc_now()}
            await conn.execute(self._db.insert_if_absent(finished).values(values))

    async def purge(self) -> int:
        """Forget messages finished longer ago than any redelivery could come."""
        async with self._db.writes() as conn:
            outcome = await conn.execute(delete(finished).where(finished.c.finished_at < utc_now() - self._retention))
        return outcome.rowcount
