"""The gateway's database: its jobs, its outbox and its idempotency keys, in one schema."""

from sqlalchemy import MetaData

from runtime.database import Database

metadata = MetaData()


def gateway_database(url: str) -> Database:
    # The modules that define the tables must be imported for create_all to see them.
    from gateway import idempotency, outbox, store  # noqa: F401

    return Database(url, metadata)
