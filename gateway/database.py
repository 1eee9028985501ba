"""The gateway's database: its jobs, its outbox and its idempotency keys, in one schema.

The schema is versioned: opening the database migrates it to the newest
revision in `gateway/migrations`, keeping the rows it has.
"""

from gateway.migrations import upgrade
from gateway.tables import metadata
from runtime.database import Database


def gateway_database(url: str) -> Database:
    return Database(url, metadata, prepare_schema=upgrade)
