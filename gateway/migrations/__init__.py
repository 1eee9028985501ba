"""Schema migrations of the gateway's database (jobs, outbox, idempotency keys), with Alembic.

`upgrade` brings a database to the newest revision in `versions/`, keeping its
rows. The gateway runs it when it opens its database, and
`python -m gateway migrate` runs it alone, for deployments that migrate before
they roll out. A database made by `create_all` before the schema was
versioned is adopted: it is stamped at the first revision, then upgraded.

To change a table, edit it (gateway/tables.py), then
from the repository root (`[tool.alembic]` in pyproject.toml points here):

    export DATABASE_URL=sqlite+aiosqlite:///var/schema.db
    python -m gateway migrate                  # a scratch database at the last revision
    alembic revision --autogenerate --rev-id 0002 -m "what changed"

Read the new file in `versions/` (Alembic cannot see renames, and a new
NOT NULL column on a table with rows needs a server default or a data step),
and run tests/integration/gateway/test_migrations.py, which checks that the
revisions build the tables exactly as the models define them, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

# The revision that create_all's schema matches: jobs with `last_replay`,
# the outbox and the idempotency keys.
_FIRST_REVISION = "0001"
_FIRST_TABLES = {"jobs", "outbox", "idempotency_keys"}

# Any constant the gateways agree on ("offload" in ASCII): the key of the
# PostgreSQL advisory lock they take turns with.
_LOCK_KEY = int.from_bytes(b"offload", "big")


def upgrade(connection: Connection) -> None:
    """Migrate the gateway's tables to the newest revision, in the caller's transaction."""
    if connection.dialect.name == "postgresql":
        # Gateways starting together take turns, and the later ones find the
        # work done; the lock ends with the transaction. On SQLite the caller's
        # transaction holds the write lock from its BEGIN IMMEDIATE already.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    config = alembic_config(connection)
    if _made_by_create_all(connection):
        command.stamp(config, _FIRST_REVISION)
    command.upgrade(config, "head")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration in code: the revisions here, run on `connection` (see env.py)."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    return config


def _made_by_create_all(connection: Connection) -> bool:
    """Whether the gateway's tables exist without a version, as create_all left them."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables or "jobs" not in tables:
        return False
    missing = sorted(_FIRST_TABLES - tables)
    if "last_replay" not in {column["name"] for column in inspector.get_columns("jobs")}:
        missing.append("jobs.last_replay")
    if missing:
        # Stamping it would claim a schema it does not have, and the gateway
        # would fail later on a missing table or column.
        raise RuntimeError(
            f"the job store predates versioned schemas and lacks {', '.join(missing)}; "
            "it cannot be upgraded in place: move it aside and let the gateway create a new one"
        )
    return True
