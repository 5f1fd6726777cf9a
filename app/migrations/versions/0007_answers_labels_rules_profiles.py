"""Answers and visitors you know: the answer library, labels, keyword rules, a conversation's
priority, and one profile per visitor (a contact's e-mail, merges and corrections).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:10:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite and PostgreSQL both have it): no table copy on a large archive.
    op.add_column(
        "conversation",
        sa.Column("priority", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "contact", sa.Column("email", sa.String(length=320), nullable=False, server_default="")
    )
    op.add_column(
        "contact",
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
    )
    op.create_index(op.f("ix_contact_merged_into_id"), "contact", ["merged_into_id"])
    op.create_table(
        "contact_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("other_contact_id", sa.Integer(), nullable=True),
        sa.Column("moved", sa.String(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.String(length=320), nullable=False),
        sa.Column("new_value", sa.String(length=320), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        _when("at"),
        _when("undone_at", nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.ForeignKeyConstraint(["other_contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_contact_event_contact_id"), "contact_event", ["contact_id"])
    op.create_index(op.f("ix_contact_event_destination_id"), "contact_event", ["destination_id"])
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("shortcut", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Enum("APPROVED", "PROPOSED", name="answerstatus"), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.Column("uses", sa.Integer(), nullable=False),
        _when("last_used_at", nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.ForeignKeyConstraint(["source_message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_answer_destination_id"), "answer", ["destination_id"])
    op.create_index(op.f("ix_answer_office_id"), "answer", ["office_id"])
    op.create_table(
        "answer_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("answer_id", "language"),
    )
    op.create_index(op.f("ix_answer_text_answer_id"), "answer_text", ["answer_id"])
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("destination_id", "key"),
    )
    op.create_index(op.f("ix_label_destination_id"), "label", ["destination_id"])
    op.create_table(
        "rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("words", sa.String(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("adviser_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["adviser_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["destination_id"], ["destination.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"]),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("destination_id", "key"),
    )
    op.create_index(op.f("ix_rule_destination_id"), "rule", ["destination_id"])
    op.create_table(
        "conversation_label",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        _when("added_at"),
        sa.ForeignKeyConstraint(["added_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"]),
        sa.ForeignKeyConstraint(["rule_id"], ["rule.id"]),
        sa.PrimaryKeyConstraint("conversation_id", "label_id"),
    )
    op.create_index(op.f("ix_conversation_label_label_id"), "conversation_label", ["label_id"])


def downgrade() -> None:
    for table in ("conversation_label", "rule", "label", "answer_text", "answer", "contact_event"):
        op.drop_table(table)
    sa.Enum(name="answerstatus").drop(op.get_bind(), checkfirst=True)
    op.drop_index(op.f("ix_contact_merged_into_id"), table_name="contact")
    # Plain DROP COLUMN (SQLite 3.35+).
    op.drop_column("contact", "merged_into_id")
    op.drop_column("contact", "email")
    op.drop_column("conversation", "priority")
