"""The gateway's database: its jobs, its outbox and its idempotency keys, in one schema.

The schema is versioned: opening the database migrates it to the newest
revision in `gateway/migrations`, keeping the rows it has.
"""

from sqlalchemy import MetaData

from gateway.migrations import upgrade
from runtime.database import Database

metadata = MetaData()


def gateway_metadata() -> MetaData:
    """`metadata` with every table of the gateway on it."""
    # The modules that define the tables add them to `metadata` when imported.
    from gateway import idempotency, outbox, store  # noqa: F401

    return metadata


def gateway_database(url: str) -> Database:
    return Database(url, gateway_metadata(), prepare_schema=upgrade)
