"""Search: subjects and visitors in their own index table, so that message hits can be read
newest first with an early stop (app.search_results). Moves them out of the message table of an
index made by 0008 before the split; on an index made since, there is nothing to move.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:20:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from app import search

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    index = search.backend(connection.dialect.name)
    index.create(connection)  # the new table; the message table is there already
    key = "rowid" if connection.dialect.name == "sqlite" else "id"
    connection.exec_driver_sql(
        f"INSERT INTO {index.meta_table} ({key}, ref, body)"  # noqa: S608 (constant names)
        f" SELECT {key}, ref, body FROM {index.table} WHERE {key} % 8 <> 0"
    )
    connection.exec_driver_sql(f"DELETE FROM {index.table} WHERE {key} % 8 <> 0")  # noqa: S608


def downgrade() -> None:
    connection = op.get_bind()
    index = search.backend(connection.dialect.name)
    key = "rowid" if connection.dialect.name == "sqlite" else "id"
    connection.exec_driver_sql(
        f"INSERT INTO {index.table} ({key}, ref, body)"  # noqa: S608 (constant names)
        f" SELECT {key}, ref, body FROM {index.meta_table}"
    )
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {index.meta_table}")
    search.forget(connection)
