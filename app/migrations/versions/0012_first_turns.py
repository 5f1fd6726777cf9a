"""A reopened conversation is one conversation: only its earliest turn is its first.

Turns recorded before the fix marked the first turn after each reopen as ``first`` too, so a
conversation reopened once counted twice in the figures. Those turns become later turns, and the
local days they lie on are marked changed (``rollupday.changes``) so that the background pass
rebuilds their rollups; until then the dashboard reads those days from the turns.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 04:10:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A turn marked first although an earlier turn of its conversation exists (ties by id).
MARK_DAYS = """
UPDATE rollupday SET changes = changes + 1
WHERE EXISTS (
    SELECT 1 FROM responseturn t JOIN account a ON a.id = t.account_id
    WHERE a.destination_id = rollupday.destination_id AND t.local_day = rollupday.local_day
    AND t.first AND EXISTS (
        SELECT 1 FROM responseturn earlier
        WHERE earlier.conversation_id = t.conversation_id
        AND (earlier.started_at < t.started_at
             OR (earlier.started_at = t.started_at AND earlier.id < t.id))))
"""

FIX_TURNS = """
UPDATE responseturn SET first = false
WHERE first AND EXISTS (
    SELECT 1 FROM responseturn earlier
    WHERE earlier.conversation_id = responseturn.conversation_id
    AND (earlier.started_at < responseturn.started_at
         OR (earlier.started_at = responseturn.started_at AND earlier.id < responseturn.id)))
"""


def upgrade() -> None:
    op.execute(MARK_DAYS)  # before the fix: it finds the days by the turns still marked
    op.execute(FIX_TURNS)


def downgrade() -> None:
    """Nothing to undo: which turns followed a reopen is not kept apart from other later turns."""
