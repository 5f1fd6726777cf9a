"""Messages indexed for search after their transaction, in batches (SQLite).

FTS5 writes each transaction's new documents as a segment of their own and merges segments
as they pile up: with one chat message a transaction, every message made a tiny segment, its
document cost its unit of work 90–130 µs on average, and one commit in a hundred stopped for
milliseconds (tens at worst) to merge segments — on the event loop's thread, where the chat's
writes run (``app.sqlite_writes``). So on SQLite a stored message leaves its document to this
module: the index keeps a mark, the newest message whose document is written, and
:func:`catch_up` writes the documents of every message stored since, a batch a transaction
(about 40 µs a document), and moves the mark. Every worker catches up twice a second
(:func:`keep_indexed`), and a search catches up before it reads
(``app.search_results.ranked``), so it still finds the message stored a moment ago.

The mark stays true whatever runs beside it: a batch takes SQLite's write lock before it reads
the mark, so the messages below it were all committed (SQLite stores one writer at a time, in
id order); a batch reads each message's text as it is *now* and first removes any document
the message already has, so a correction or an erasure made before its batch (whose hooks
write the document at once, ``app.search``) is neither lost nor indexed twice; a message
deleted before its batch has no row left to index.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import search
from app.search import Kind, doc_id

if TYPE_CHECKING:  # the migration going back imports this module: nothing more than it needs
    from app.services import Services

log = logging.getLogger(__name__)

BATCH = 500  # messages a transaction: a backlog (after a stop) is written without long locks
EVERY_SECONDS = 0.5  # how often each worker catches up

_NEWER = text("SELECT id, conversation_id, text FROM message WHERE id > :mark ORDER BY id LIMIT :n")


def _behind(connection: Connection) -> bool:
    """Whether any message is newer than the mark (a read: no lock taken)."""
    if not search.indexed_later(connection):
        return False
    mark = search.backend(connection.dialect.name).mark_table
    newest = connection.exec_driver_sql(
        f"SELECT (SELECT max(id) FROM message) > message_id FROM {mark}"  # noqa: S608 (a constant name)
    ).scalar()
    return bool(newest)


def index_batch(connection: Connection, batch: int = BATCH) -> int:
    """Writes the documents of up to ``batch`` messages newer than the mark and moves it past
    them, in the caller's transaction; returns how many messages it read."""
    index = search.backend(connection.dialect.name)
    mark = index.mark_table
    assert mark is not None, "only an index with a mark indexes later"
    # The write lock first: no writer can commit a message between the mark read and its move.
    connection.exec_driver_sql(f"UPDATE {mark} SET message_id = message_id")  # noqa: S608
    since = connection.exec_driver_sql(f"SELECT message_id FROM {mark}").scalar_one()  # noqa: S608
    rows = connection.execute(_NEWER, {"mark": since, "n": batch}).all()
    if not rows:
        return 0
    index.remove(connection, [doc_id(Kind.MESSAGE, int(row[0])) for row in rows])
    index.put(connection, search.message_docs((int(m), int(c), str(t)) for m, c, t in rows))
    connection.exec_driver_sql(
        f"UPDATE {mark} SET message_id = ?",  # noqa: S608 (a constant name)
        (int(rows[-1][0]),),
    )
    return len(rows)


async def catch_up(session: AsyncSession, batch: int = BATCH) -> int:
    """Indexes every message stored since the mark, a transaction (committed) per ``batch``;
    returns how many. Nothing to do (or an index written in the messages' own transactions,
    on PostgreSQL): one read, no lock."""
    connection = await session.connection()
    if not await connection.run_sync(_behind):
        return 0
    done = 0
    while True:
        connection = await session.connection()
        written = await connection.run_sync(index_batch, batch)
        await session.commit()
        done += written
        if written < batch:
            return done


async def before_search(session: AsyncSession) -> None:
    """:func:`catch_up` before a search reads; when the database will not let it write (its
    lock held elsewhere past the busy timeout), the search reads the index as it is — a
    reader is never kept waiting by a writer — rather than failing."""
    try:
        await catch_up(session)
    except OperationalError as exc:
        await session.rollback()
        log.warning("search read the index without the newest messages: %s", exc.orig)


async def keep_indexed(services: Services, every: float = EVERY_SECONDS) -> None:
    """Forever, every ``every`` seconds: :func:`catch_up` (the first right away: messages
    stored while no worker ran). Returns at once when the database indexes messages in their
    own transactions."""
    async with services.db.session() as session:
        connection = await session.connection()
        if not await connection.run_sync(search.indexed_later):
            return
    failing = False
    while True:
        try:
            async with services.db.session() as session:
                await catch_up(session)
        except Exception:  # the database passing away: the next round retries
            if not failing:  # one traceback a failing spell, not one a second
                log.exception("indexing new messages for search failed (retrying)")
            failing = True
        else:
            failing = False
        await asyncio.sleep(every)
