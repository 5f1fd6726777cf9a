"""Full-text search: the index of messages, notes, subjects and visitors (app.search), filled
from the rows already stored.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:40:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from app import search

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    search.create(connection)
    search.backfill(connection)


def downgrade() -> None:
    connection = op.get_bind()
    search.backend(connection.dialect.name).drop(connection)
    search.forget(connection)
