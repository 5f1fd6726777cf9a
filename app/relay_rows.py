"""The transactional outbox's rows: a message whose live event or send is still owed.

A row is written in the same SQL transaction as its message, so a commit can never leave a
message that nothing will announce or send; the writer deletes it once its events are in Redis
(and a reply is in the outbox stream), and ``app.recovery`` replays whatever is left — after a
Redis outage, or a worker that died between its commit and its publish.

Kept apart from ``app.models`` only so the table has one owner; ``app.db`` and the migrations'
``env.py`` import it with the models.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models import utc_column


class Relay(SQLModel, table=True):
    """A message whose follow-up (its live events, and for a reply its queueing) is owed."""

    id: int | None = Field(default=None, primary_key=True)
    # No foreign key: a row whose message is not found is simply dropped by the replay (none
    # is deleted today: erasing a visitor blanks their messages and keeps the rows).
    message_id: int = Field(unique=True)
    destination_id: int
    # Real UTC time (not the app's demo clock): the replay waits a few seconds of it.
    created_at: datetime = Field(sa_column=utc_column(index=True))
