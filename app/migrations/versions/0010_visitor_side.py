"""The visitor's side: a chat widget's look and logo, a reply address left by a chat visitor,
"do not keep" conversations, attachment thumbnails, satisfaction surveys, the destination's
privacy text and the audit log of managers' reads of visitor data.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 21:20:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "destination", sa.Column("privacy", sa.String(), nullable=False, server_default="")
    )
    op.add_column("account", sa.Column("widget", sa.String(), nullable=False, server_default=""))
    op.add_column(
        "conversation",
        sa.Column("reply_email", sa.String(length=320), nullable=False, server_default=""),
    )
    op.add_column(
        "conversation",
        sa.Column("forget_after_resolved", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("conversation", _when("forget_at", nullable=True))
    op.add_column("attachment", sa.Column("thumbnail", sa.LargeBinary(), nullable=True))
    op.create_table(
        "widget_logo",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("adviser_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        _when("sent_at"),
        _when("expires_at"),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.String(), nullable=False),
        _when("answered_at", nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["adviser_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_survey_destination_id"), "survey", ["destination_id"])
    op.create_index(op.f("ix_survey_conversation_id"), "survey", ["conversation_id"])
    op.create_index(op.f("ix_survey_sent_at"), "survey", ["sent_at"])
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        _when("at"),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_entry_destination_id"), "audit_entry", ["destination_id"])
    op.create_index(op.f("ix_audit_entry_at"), "audit_entry", ["at"])


def downgrade() -> None:
    op.drop_table("audit_entry")
    op.drop_table("survey")
    op.drop_table("widget_logo")
    # Plain DROP COLUMN (SQLite 3.35+).
    op.drop_column("attachment", "thumbnail")
    op.drop_column("conversation", "forget_at")
    op.drop_column("conversation", "forget_after_resolved")
    op.drop_column("conversation", "reply_email")
    op.drop_column("account", "widget")
    op.drop_column("destination", "privacy")
