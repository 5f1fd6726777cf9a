"""Search on SQLite: messages indexed after their transaction, in batches (app.search_backlog).

Adds the index's mark — the newest message whose document is written — at the newest message
stored: every one so far was indexed in its own transaction. PostgreSQL keeps indexing in the
message's transaction and gets nothing. Going back writes the documents still owed first.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:30:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from app import search, search_backlog

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    search.create_mark(op.get_bind())


def downgrade() -> None:
    connection = op.get_bind()
    mark = search.backend(connection.dialect.name).mark_table
    if not mark:
        return
    while search_backlog.index_batch(connection):
        pass
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {mark}")
    search.forget(connection, mark_only=True)
