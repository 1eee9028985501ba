"""The gateway's tables (jobs, the outbox, idempotency keys), on one `MetaData`.

The store, the outbox and the idempotency keys write them; the database opens
them, and Alembic compares its revisions with them (gateway/migrations/env.py).
Defined here, apart from the code that uses them, so that each of those imports
the tables and none has to import another to complete the schema.
"""

from sqlalchemy import Column, Index, Integer, LargeBinary, MetaData, String, Table, Uuid

from runtime.database import JSONOrNull, UTCDateTime

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("task_type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("progress", JSONOrNull, nullable=True),
    Column("error", JSONOrNull, nullable=True),
    Column("result", JSONOrNull, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    # The key of the last event applied (see `gateway.folding.event_key`); an
    # event with a lower key arrived late and is ignored.
    Column("last_replay", Integer, nullable=False),
    Column("last_attempt", Integer, nullable=False),
    Column("last_rank", Integer, nullable=False),
    Column("last_event_at", UTCDateTime, nullable=False),
    # Replays of the job's dead letter the gateway made; no event may claim more.
    Column("replays", Integer, nullable=False, server_default="0"),
    Index("ix_jobs_status_created_at", "status", "created_at"),
    Index("ix_jobs_task_type_created_at", "task_type", "created_at"),
    # The unfiltered listing (newest first) would otherwise sort the table.
    Index("ix_jobs_created_at_job_id", "created_at", "job_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A relay that took a row owns it until then; after that, another may retry it.
    Column("claimed_until", UTCDateTime, nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONOrNull, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
