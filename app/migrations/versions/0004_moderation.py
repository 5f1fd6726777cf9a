"""Moderation: conversations marked as spam, the chat visitor's last address, and blocks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:45:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite and PostgreSQL both have it): no table copy on a large archive.
    op.add_column(
        "conversation",
        sa.Column("spam", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "conversation",
        sa.Column("visitor_ip", sa.String(length=64), nullable=False, server_default=""),
    )
    op.create_table(
        "block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("label", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.ForeignKeyConstraint(["lifted_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_block_destination_id"), "block", ["destination_id"], unique=False)
    op.create_index(
        "ix_block_lookup", "block", ["destination_id", "kind", "channel", "value"], unique=False
    )


def downgrade() -> None:
    op.drop_table("block")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop the conversation table, which
    # every message refers to.
    op.drop_column("conversation", "visitor_ip")
    op.drop_column("conversation", "spam")
