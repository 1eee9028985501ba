"""How Alembic reaches the gateway's database: through the caller's connection, or its own.

`gateway.migrations.upgrade` passes the connection of the transaction it runs
in; the `alembic` command (writing a revision, `alembic check`) opens
DATABASE_URL itself.
"""

import asyncio
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON
from sqlalchemy.engine import Connection

from gateway.settings import GatewaySettings
from gateway.tables import metadata as target_metadata
from runtime.database import Database, UTCDateTime


def include_name(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    # The services' inboxes may share the database (compose does that): their
    # tables are not the gateway's, and a revision must not drop them.
    return type_ != "table" or name in target_metadata.tables


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write the shared column types as imports from runtime.database, as the tables do."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from runtime.database import UTCDateTime")
        return "UTCDateTime()"
    if type_ == "type" and isinstance(obj, JSON) and obj.none_as_null:
        autogen_context.imports.add("from runtime.database import JSONOrNull")
        return "JSONOrNull"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_item=render_item,
        # SQLite changes a column by copying its table: batch operations do that.
        render_as_batch=True,
    )
    # Inside the caller's transaction this begins nothing: the caller commits.
    with context.begin_transaction():
        context.run_migrations()


async def run_on_own_connection() -> None:
    # Database gives the same SQLite settings and write lock as the gateway has.
    database = Database(GatewaySettings().database_url, target_metadata, prepare_schema=run_migrations)
    await database.open()
    await database.close()


if (connection := context.config.attributes.get("connection")) is not None:
    run_migrations(connection)
else:
    asyncio.run(run_on_own_connection())
