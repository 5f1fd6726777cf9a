"""A new message's row, written past the ORM: the chat's hot path stores one per visitor message
and one per reply.

The ORM's flush of a new ``Message`` cost about twice its ``INSERT`` (its unit-of-work sort,
its events, the identity map); this writes the same row in one statement on the unit of work's
connection (on SQLite's quick path, once its transaction holds the write lock, the driver
itself: ``db.plain_write``), indexes its text for search as the ORM's hook would
(``app.search``; on SQLite the index catches up after the commit, ``app.search_backlog``), and
gives the object its id. The object stays out of the session: nothing
of the unit of work reads it back, and the caller keeps it for the live event.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, search
from app.models import Message

_COLUMNS = tuple(
    column.key
    for column in Message.__table__.columns  # type: ignore[attr-defined]
    if column.key != "id"
)
_INSERT = insert(Message)


async def add(session: AsyncSession, message: Message) -> int:
    """Inserts ``message`` (no id yet) in the session's transaction and returns its new id,
    also set on the object. A duplicate raises ``IntegrityError`` here, as the flush would."""
    assert message.id is None, "a stored message is not inserted again"
    written = await db.plain_write(
        session, _INSERT, {key: getattr(message, key) for key in _COLUMNS}
    )
    assert written.lastrowid is not None
    message_id = message.id = written.lastrowid
    if message.text:
        connection = await db.connection_of(session)
        if search.known_later(connection.sync_engine):
            return message_id  # indexed after the commit, with others (app.search_backlog)
        index = search.message_write(
            connection.sync_engine, message_id, message.conversation_id, message.text
        )
        if index is not None:  # the one document, written as the row was
            await db.plain_write(session, *index)
        else:
            row = (message_id, message.conversation_id, message.text)
            await connection.run_sync(lambda sync: search.index_messages(sync, [row]))
    return message_id
