"""The transactional outbox: messages whose live events or send are still owed (app.recovery).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:40:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(op.f("ix_relay_created_at"), "relay", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_relay_created_at"), table_name="relay")
    op.drop_table("relay")
