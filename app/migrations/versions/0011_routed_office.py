"""The rota's choice kept with each conversation (``conversation.routed_office_id``): the
hand-over moves a queued conversation only when the duty has changed hands since that choice,
so an adviser's transfer stands.

Open conversations take it from their last routing by the rota (a "handover" row included), or
failing that their office; closed ones keep none (they are routed again when reopened).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 03:20:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The last RoutingDecision the rota's routing wrote (app.routing, app.handover), if any.
BACKFILL = """
UPDATE conversation SET routed_office_id = COALESCE(
    (SELECT r.office_id FROM routingdecision r
     WHERE r.conversation_id = conversation.id AND r.office_id IS NOT NULL
     AND r.reason IN ('own_hours', 'shared_duty', 'override', 'swap', 'nobody_on_duty',
                      'account_office', 'handover')
     ORDER BY r.id DESC LIMIT 1),
    office_id)
WHERE status = 'OPEN'
"""


def upgrade() -> None:
    op.add_column("conversation", sa.Column("routed_office_id", sa.Integer(), nullable=True))
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("conversation", "routed_office_id")
