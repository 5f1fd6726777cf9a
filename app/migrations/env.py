"""Alembic's entry point: runs the scripts on the connection that ``app.migrations`` hands over.

There is no alembic.ini and no URL here: the application opens the database (``app.db``), takes
the lock, and passes its connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from app import models, relay_rows, search  # noqa: F401  (registers the tables)
from app.migrations import render_item


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite alters a table by copying it: scripts use batch operations, which are plain
        # ALTERs on PostgreSQL.
        render_as_batch=True,
        render_item=render_item,
        compare_type=True,
        # The full-text index (app.search) is made by its migration, not from a model.
        include_name=lambda name, kind, _parents: (
            kind != "table" or not search.owned_table(name or "")
        ),
    )
    # Inside the caller's transaction, this begins nothing: the caller commits or rolls back.
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `concierge db upgrade` (there is no alembic.ini)")
run(connection)
