"""The outbox: events the gateway has promised to publish, kept in its database.

A job and its event are written in one transaction, so a 202 never depends on
the broker being up. The relay (`gateway.relay`) publishes what is here and
deletes each row only after the broker confirmed it; a crash in between
leaves the row, and it is published again (consumers deduplicate by message id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import utc_now
from gateway.tables import outbox
from runtime.database import Database


@dataclass(frozen=True)
class Pending:
    id: int
    message_id: str
    routing_key: str
    body: bytes


class Outbox:
    def __init__(self, database: Database) -> None:
        self._db = database

    @staticmethod
    async def add_many(conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        """Queue events ({message_id, routing_key, body}) inside the caller's transaction."""
        now = utc_now()
        await conn.execute(outbox.insert(), [{**event, "created_at": now} for event in events])

    async def claim(self, limit: int, lease: float) -> list[Pending]:
        """Take up to `limit` unclaimed rows, oldest first, for `lease` seconds."""
        now = utc_now()
        free = or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)
        oldest = select(outbox.c.id).where(free).order_by(outbox.c.id).limit(limit)
        # `free` is checked again on the row itself, so two relays on PostgreSQL
        # cannot both take a row one of them claimed a moment earlier.
        take = (
            update(outbox)
            .where(outbox.c.id.in_(oldest.scalar_subquery()), free)
            .values(claimed_until=now + timedelta(seconds=lease))
            .returning(outbox.c.id, outbox.c.message_id, outbox.c.routing_key, outbox.c.body)
        )
        async with self._db.writes() as conn:
            rows = (await conn.execute(take)).all()
        return sorted((Pending(*row) for row in rows), key=lambda pending: pending.id)

    async def remove(self, ids: list[int]) -> None:
        """Forget rows whose publish the broker confirmed."""
        if ids:
            async with self._db.writes() as conn:
                await conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))

    async def release(self, ids: list[int]) -> None:
        """Give rows back at once after a failed publish, rather than at the end of the lease."""
        if ids:
            async with self._db.writes() as conn:
                await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(claimed_until=None))

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many events wait, and since when the oldest."""
        async with self._db.reads() as conn:
            count, oldest = (await conn.execute(select(func.count(), func.min(outbox.c.created_at)))).one()
        return count, oldest
