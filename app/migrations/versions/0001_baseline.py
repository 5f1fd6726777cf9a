"""The baseline: every table as ``create_all`` made it before migrations existed.

A database made then has these tables and no ``alembic_version``: ``app.migrations.upgrade``
stamps it with this revision instead of running it.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 07:35:56.129418+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "csvrollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("office_on_duty_id", sa.Integer(), nullable=False),
        sa.Column("responder_office_id", sa.Integer(), nullable=False),
        sa.Column("responder_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_csv_read", "csvrollup", ["destination_id", "local_day"], unique=False)

    op.create_table(
        "destination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rota_toml", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_destination_slug"), "destination", ["slug"], unique=True)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_quarantine_account_key"), "quarantine", ["account_key"], unique=False)

    op.create_table(
        "turnrollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.Column("hour_of_week", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("office_on_duty_id", sa.Integer(), nullable=False),
        sa.Column("responder_office_id", sa.Integer(), nullable=False),
        sa.Column("responder_id", sa.Integer(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("replied", sa.Integer(), nullable=False),
        sa.Column("wall_sum", sa.Float(), nullable=False),
        sa.Column("walls", sa.LargeBinary(), nullable=False),
        sa.Column("duties", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rollup_read", "turnrollup", ["destination_id", "grain", "local_day"], unique=False
    )

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("destination_id", "channel", "external_id"),
    )
    op.create_index(op.f("ix_contact_destination_id"), "contact", ["destination_id"], unique=False)

    op.create_table(
        "office",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("adviser_cap", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("destination_id", "slug"),
    )
    op.create_index(op.f("ix_office_destination_id"), "office", ["destination_id"], unique=False)
    op.create_index(op.f("ix_office_slug"), "office", ["slug"], unique=False)

    op.create_table(
        "rollupday",
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("built", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
        ),
        sa.PrimaryKeyConstraint("destination_id", "local_day"),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=True),
        sa.Column("allowed_origins", sa.String(), nullable=False),
        sa.Column("settings", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_account_destination_id"), "account", ["destination_id"], unique=False)
    op.create_index(op.f("ix_account_key"), "account", ["key"], unique=True)
    op.create_index(op.f("ix_account_office_id"), "account", ["office_id"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("ADVISER", "OFFICE_MANAGER", "DESTINATION_MANAGER", name="role"),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_user_destination_id"), "user", ["destination_id"], unique=False)
    op.create_index(op.f("ix_user_email"), "user", ["email"], unique=True)
    op.create_index(op.f("ix_user_office_id"), "user", ["office_id"], unique=False)

    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("thread_key", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Enum("OPEN", "RESOLVED", name="conversationstatus"), nullable=False),
        sa.Column("unread", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preview", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "thread_key"),
    )
    op.create_index(
        op.f("ix_conversation_account_id"), "conversation", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_conversation_assignee_id"), "conversation", ["assignee_id"], unique=False
    )
    op.create_index(
        op.f("ix_conversation_contact_id"), "conversation", ["contact_id"], unique=False
    )
    op.create_index(
        op.f("ix_conversation_destination_id"), "conversation", ["destination_id"], unique=False
    )
    op.create_index(
        op.f("ix_conversation_last_message_at"), "conversation", ["last_message_at"], unique=False
    )
    op.create_index(op.f("ix_conversation_office_id"), "conversation", ["office_id"], unique=False)
    op.create_index(
        "ix_conversation_office_status",
        "conversation",
        ["office_id", "status", "last_message_at"],
        unique=False,
    )

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.Enum("IN", "OUT", "NOTE", name="direction"), nullable=False),
        sa.Column(
            "author_kind",
            sa.Enum("VISITOR", "ADVISER", "SYSTEM", name="authorkind"),
            nullable=False,
        ),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=512), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("html", sa.String(), nullable=True),
        sa.Column("quote_start", sa.Integer(), nullable=True),
        sa.Column("split_thread", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "delivery_status",
            sa.Enum("RECEIVED", "PENDING", "SENT", "FAILED", name="deliverystatus"),
            nullable=False,
        ),
        sa.Column("delivery_error", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "external_id"),
    )
    op.create_index(
        op.f("ix_message_conversation_id"), "message", ["conversation_id"], unique=False
    )

    op.create_table(
        "responseturn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("office_on_duty_id", sa.Integer(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responder_id", sa.Integer(), nullable=True),
        sa.Column("responder_office_id", sa.Integer(), nullable=True),
        sa.Column("wall_seconds", sa.Float(), nullable=True),
        sa.Column("duty_seconds", sa.Float(), nullable=True),
        sa.Column("hour_of_week", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_on_duty_id"],
            ["office.id"],
        ),
        sa.ForeignKeyConstraint(
            ["responder_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["responder_office_id"],
            ["office.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_responseturn_conversation_id"), "responseturn", ["conversation_id"], unique=False
    )
    op.create_index(
        "ix_turn_dashboard",
        "responseturn",
        [
            "started_at",
            "account_id",
            "first",
            "wall_seconds",
            "duty_seconds",
            "office_on_duty_id",
            "responder_id",
            "responder_office_id",
            "channel",
            "hour_of_week",
            "local_day",
        ],
        unique=False,
    )
    op.create_index(
        "ix_turn_open", "responseturn", ["conversation_id", "answered_at"], unique=False
    )

    op.create_table(
        "routingdecision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("adviser_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adviser_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_routingdecision_at"), "routingdecision", ["at"], unique=False)
    op.create_index(
        op.f("ix_routingdecision_conversation_id"),
        "routingdecision",
        ["conversation_id"],
        unique=False,
    )

    op.create_table(
        "threadref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "ref"),
    )
    op.create_index(
        op.f("ix_threadref_conversation_id"), "threadref", ["conversation_id"], unique=False
    )

    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Boolean(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_attachment_message_id"), "attachment", ["message_id"], unique=False)


# PostgreSQL keeps the enumerated types of the columns above as types of their own.
ENUM_TYPES = ("role", "conversationstatus", "direction", "authorkind", "deliverystatus")


def downgrade() -> None:
    op.drop_table("attachment")
    op.drop_table("threadref")
    op.drop_table("routingdecision")
    op.drop_table("responseturn")
    op.drop_table("message")
    op.drop_table("conversation")
    op.drop_table("user")
    op.drop_table("account")
    op.drop_table("rollupday")
    op.drop_table("office")
    op.drop_table("contact")
    op.drop_table("turnrollup")
    op.drop_table("quarantine")
    op.drop_table("destination")
    op.drop_table("csvrollup")
    for name in ENUM_TYPES:
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
