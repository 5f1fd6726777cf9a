"""An adviser's reply is stored once per ``client_id`` in its conversation.

A send repeated — a second press of Ctrl+Enter while the first was on its way, a request
retried after its answer was lost — returns the reply already stored instead of sending it to
the visitor again (app.actions.reply). Replies stored twice before this revision keep their
later copies, as they were sent; only their ``client_id`` is emptied, so that the unique index
can be built (the id serves nothing else once the reply is stored).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 01:40:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLIES = "direction = 'OUT' AND client_id <> ''"

FORGET_REPEATS = """
UPDATE message SET client_id = ''
WHERE direction = 'OUT' AND client_id <> '' AND EXISTS (
    SELECT 1 FROM message earlier
    WHERE earlier.conversation_id = message.conversation_id AND earlier.direction = 'OUT'
    AND earlier.client_id = message.client_id AND earlier.id < message.id)
"""


def upgrade() -> None:
    op.execute(FORGET_REPEATS)
    op.create_index(
        "ux_message_reply_client",
        "message",
        ["conversation_id", "client_id"],
        unique=True,
        sqlite_where=sa.text(REPLIES),
        postgresql_where=sa.text(REPLIES),
    )


def downgrade() -> None:
    op.drop_index("ux_message_reply_client", table_name="message")
