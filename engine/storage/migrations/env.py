"""Alembic environment: runs on the connection that ``engine.storage.db.migrate`` passes in.

There is no alembic.ini and no offline (``--sql``) mode: build the config with
``engine.storage.db.alembic_config(connection)`` and call ``alembic.command`` functions.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from engine.storage.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "no database connection: run migrations with engine.storage.db.migrate(engine) "
        "or pass engine.storage.db.alembic_config(connection) to alembic.command"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
