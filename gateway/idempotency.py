"""Idempotency keys: a retried POST gets the answer of the first, not a second job.

A client that is unsure whether its request went through (a timeout, a
dropped connection) sends it again with the same `Idempotency-Key` header.
The first request stores its response under the key, in the same transaction
as its job; a repeat with the same body gets that response back, and a repeat
with a different body is refused, since the key then names two things.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import utc_now
from gateway.tables import idempotency_keys
from runtime.database import Database


def request_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Stored:
    """The response a key was first used for."""

    request_hash: str
    status_code: int
    response: dict[str, Any]


class KeyReused(Exception):
    """The key was used before for a different request."""


async def claim(
    db: Database,
    conn: AsyncConnection,
    key: str,
    *,
    request: str,
    status_code: int,
    response: dict[str, Any],
    ttl: float,
) -> Stored | None:
    """Store `response` under `key` in the caller's transaction; None if the key was free.

    If the key holds a live response for the same request, that is returned
    (and the caller should write nothing else); for another request,
    `KeyReused` is raised.
    """
    now = utc_now()
    row = {
        "key": key,
        "request_hash": request,
        "status_code": status_code,
        "response": response,
        "expires_at": now + timedelta(seconds=ttl),
    }
    inserted = await conn.execute(db.insert_if_absent(idempotency_keys).values(row))
    if inserted.rowcount == 1:
        return None
    found = (
        (await conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key).with_for_update()))
        .mappings()
        .one()
    )
    if found["expires_at"] <= now:
        # An expired key is free again.
        await conn.execute(update(idempotency_keys).where(idempotency_keys.c.key == key).values(row))
        return None
    if found["request_hash"] != request:
        raise KeyReused(key)
    return Stored(found["request_hash"], found["status_code"], found["response"])


async def purge_expired(db: Database, now: datetime | None = None) -> int:
    async with db.writes() as conn:
        result = await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= (now or utc_now())))
    return result.rowcount
