"""Messages as the visitor sent them: the sender's own date and the channel's display details,
the contact's profile, media links, per-account automatic replies, coded quarantine reasons.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ADD COLUMN (SQLite and PostgreSQL both have it): no table copy on a large archive.
_COLUMNS = (
    ("message", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True)),
    ("message", sa.Column("details", sa.String(), nullable=False, server_default="")),
    ("contact", sa.Column("profile", sa.String(), nullable=False, server_default="")),
    ("attachment", sa.Column("url", sa.String(length=1000), nullable=False, server_default="")),
    ("account", sa.Column("auto_reply", sa.String(), nullable=False, server_default="")),
    ("quarantine", sa.Column("code", sa.String(length=64), nullable=False, server_default="")),
    ("quarantine", sa.Column("params", sa.String(), nullable=False, server_default="")),
    ("quarantine", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True)),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.add_column(table, column)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+).
    for table, column in reversed(_COLUMNS):
        op.drop_column(table, column.name)
