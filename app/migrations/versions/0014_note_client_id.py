"""An internal note is stored once per ``client_id`` in its conversation, as a reply is (0013).

A request retried after its answer was lost returns the note already stored instead of adding
it again and alerting its mentioned colleagues twice (app.notes.add_note). Notes stored twice
before this revision are kept; only the later copies' ``client_id`` is emptied, so that the
unique index can be built.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 04:10:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES = "direction = 'NOTE' AND client_id <> ''"

FORGET_REPEATS = """
UPDATE message SET client_id = ''
WHERE direction = 'NOTE' AND client_id <> '' AND EXISTS (
    SELECT 1 FROM message earlier
    WHERE earlier.conversation_id = message.conversation_id AND earlier.direction = 'NOTE'
    AND earlier.client_id = message.client_id AND earlier.id < message.id)
"""


def upgrade() -> None:
    op.execute(FORGET_REPEATS)
    op.create_index(
        "ux_message_note_client",
        "message",
        ["conversation_id", "client_id"],
        unique=True,
        sqlite_where=sa.text(NOTES),
        postgresql_where=sa.text(NOTES),
    )


def downgrade() -> None:
    op.drop_index("ux_message_note_client", table_name="message")
