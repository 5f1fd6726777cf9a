"""The hot path's writes past the ORM (``db.plain_write``; on SQLite's quick path the driver
itself, the first write taking the write lock as SQLAlchemy's would: app.sqlite_reads.write,
app.sqlite_writes.lock_here): the rows stored as SQLAlchemy's execution stores them, byte
for byte, the new row's id given back, a duplicate raised as SQLAlchemy raises it, and
SQLAlchemy's own execution wherever the driver may not run (a first write off the quick
path, another database, a column default to fill). Real SQLite or PostgreSQL, real Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, exc, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import db, inbox, metrics, recovery, rollups, search
from app.inbox import Inbox
from app.models import Conversation, ResponseTurn, ThreadRef, User
from app.services import Services
from app.sqlite_reads import Written
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_sqlite_reads import a_conversation

AT = datetime(2026, 7, 21, 10, 15, 30, 250_000, tzinfo=UTC)


@contextmanager
def engine_events(services: Services, name: str) -> Iterator[list[tuple[Any, ...]]]:
    """The arguments of each of the engine's ``name`` events meanwhile."""
    seen: list[tuple[Any, ...]] = []

    def listen(*args: Any) -> None:
        seen.append(args)

    engine = services.db.engine.sync_engine
    event.listen(engine, name, listen)
    try:
        yield seen
    finally:
        event.remove(engine, name, listen)


def executions(services: Services) -> AbstractContextManager[list[tuple[Any, ...]]]:
    """The statements SQLAlchemy's execution runs meanwhile (not those run on the driver)."""
    return engine_events(services, "before_execute")


async def stored(connection: AsyncConnection, table: str, key: str, value: Any) -> list[Any]:
    """The row's stored values, as the database holds them (datetimes as their stored form)."""
    found = await connection.exec_driver_sql(
        f"SELECT * FROM {table} WHERE {key} = {int(value)}"  # noqa: S608 (the test's own names)
    )
    return [tuple(row) for row in found.all()]


def hot_writes(
    conversation: Conversation, user: User
) -> list[tuple[str, Any, Callable[[int], dict[str, Any]], str]]:
    """The hot path's insert statements, parameters for the n-th row, and the column (besides
    the id) where rows differ."""
    return [
        (
            "threadref",
            inbox._ADD_REF,
            lambda n: {"account_id": conversation.account_id, "ref": f"ref-{n}",
                       "conversation_id": conversation.id},
            "ref",
        ),
        (
            "relay",
            recovery._HOLD,
            lambda n: {"message_id": 90_000 + n, "destination_id": conversation.destination_id,
                       "created_at": AT},
            "message_id",
        ),
        (
            "responseturn",
            metrics._ADD_TURN,
            lambda n: {"conversation_id": conversation.id, "account_id": conversation.account_id,
                       "channel": "webchat", "office_on_duty_id": user.office_id,
                       "first": False, "started_at": AT, "hour_of_week": 34 + n,
                       "local_day": "2026-07-21"},
            "hour_of_week",
        ),
    ]  # fmt: skip


async def test_each_hot_write_stores_what_sqlalchemy_stores(services: Services) -> None:
    conversation = await a_conversation(services)
    async with services.db.session() as session:
        user = await session.get(User, 1)
        assert user is not None
    bump = {"d": conversation.destination_id, "day": "2026-07-19"}  # a day of no turn
    for _ in range(2):  # the statement compiled once (app.sqlite_reads), nothing kept
        async with services.db.session(quick=True) as session:
            await db.plain_write(session, rollups._BUMP, bump)
            await session.rollback()
    async with services.db.session(quick=True) as session:
        connection = await db.connection_of(session)
        on_sqlite = connection.dialect.name == "sqlite"
        # The transaction's first write takes the lock itself (app.sqlite_writes.lock_here).
        with executions(services) as through_sqlalchemy:
            written = await db.plain_write(session, rollups._BUMP, bump)
        assert written == (1, None) and len(through_sqlalchemy) == (0 if on_sqlite else 1)
        for table, statement, params, differs in hot_writes(conversation, user):
            ids = []
            for n in range(3):
                if n < 2:  # the statement's first run, then its second (compiled once)
                    with executions(services) as through_sqlalchemy:
                        written = await db.plain_write(session, statement, params(n))
                    if n == 1:  # (a first run in the process compiles nothing)
                        assert len(through_sqlalchemy) == (0 if on_sqlite else 1)
                else:  # SQLAlchemy's execution, as before
                    result = await connection.execute(statement, params(n))
                    written = Written(result.rowcount, db.new_id(statement, result))
                assert written[0] == 1 and written[1] is not None
                ids.append(written[1])
            rows = [(await stored(connection, table, "id", i))[0] for i in ids]
            keys = list((await connection.exec_driver_sql(f"SELECT * FROM {table} LIMIT 0")).keys())  # noqa: S608
            # The id given back is the row's written: the n-th row's own value is found there.
            told_apart = [row[keys.index(differs)] for row in rows]
            assert told_apart == [params(n)[differs] for n in range(3)], table
            # Every column stored alike, the id and the column told apart aside.
            skip = {keys.index("id"), keys.index(differs)}
            alike = [[v for i, v in enumerate(row) if i not in skip] for row in rows]
            assert alike[0] == alike[1] == alike[2], table
        # An update, and the rollup's text statement: rows changed, no id.
        turn = ids[0]
        close = {"turn": turn, "answered_at": AT, "responder_id": user.id,
                 "responder_office_id": user.office_id, "wall_seconds": 61.5,
                 "duty_seconds": 30.0}  # fmt: skip
        for _ in range(2):
            assert await db.plain_write(session, metrics._CLOSE_TURN, close) == (1, None)
            assert await db.plain_write(session, rollups._BUMP, bump) == (1, None)
        await session.commit()
    async with services.db.session() as session:
        connection = await db.connection_of(session)
        changes = await connection.execute(
            text("SELECT changes FROM rollupday WHERE destination_id = :d AND local_day = :day"),
            bump,
        )
        assert changes.scalar_one() == 3  # the first write, then two runs
        closed = await session.get(ResponseTurn, turn)
        assert closed is not None and closed.answered_at == AT and closed.wall_seconds == 61.5


async def test_a_message_s_search_document_is_written_as_the_index_writes_it(
    services: Services,
) -> None:
    conversation = await a_conversation(services)
    assert conversation.id is not None
    async with services.db.session(quick=True) as session:
        connection = await db.connection_of(session)
        index = search.backend(connection.dialect.name)
        await db.plain_write(session, rollups._BUMP, {"d": 1, "day": "2026-07-22"})  # the lock
        docs = []
        for n in range(2):
            write = search.message_write(
                connection.sync_engine, 80_000 + n, conversation.id, "Où est le Phare ?"
            )
            assert write is not None  # the index is there
            await db.plain_write(session, *write)
            docs.append(search.doc_id(search.Kind.MESSAGE, 80_000 + n))
        assert search.message_write(connection.sync_engine, 1, conversation.id, "") is None
        found = (await connection.execute(index.bodies(docs))).all()
        hits = (await connection.execute(index.hits(["phare"]))).all()
    assert sorted(tuple(row) for row in found) == [
        (doc, conversation.id, "ou est le phare") for doc in docs
    ]
    assert set(docs) <= {row[0] for row in hits}


async def test_a_quick_unit_s_first_write_runs_on_the_driver_too(services: Services) -> None:
    """It takes the worker's writers' turn and SQLite's lock itself (app.sqlite_writes:
    tested there with other writers and another process). In another unit of work, the
    first write goes through SQLAlchemy, and the writes after it (its transaction then runs
    on the event loop's thread) on the driver."""
    conversation = await a_conversation(services)
    for quick in (True, False):
        async with services.db.session(quick=quick) as session:
            for n in range(3):
                params = {"account_id": conversation.account_id, "ref": f"first-{quick}-{n}",
                          "conversation_id": conversation.id}  # fmt: skip
                with executions(services) as through_sqlalchemy:
                    written = await db.plain_write(session, inbox._ADD_REF, params)
                dialect = (await db.connection_of(session)).dialect.name
                on_driver = (quick or n > 0) and dialect == "sqlite"
                assert len(through_sqlalchemy) == (0 if on_driver else 1), (quick, n)
                assert written.rowcount == 1 and written.lastrowid is not None
            await session.commit()
        async with services.db.session() as session:
            stored = await session.get(ThreadRef, written.lastrowid)
            assert stored is not None and stored.ref == f"first-{quick}-2"


async def test_a_duplicate_is_sqlalchemy_s_integrity_error_and_the_unit_goes_on(
    services: Services,
) -> None:
    conversation = await a_conversation(services)
    ref = {"account_id": conversation.account_id, "ref": "twice",
           "conversation_id": conversation.id}  # fmt: skip
    async with services.db.session(quick=True) as session:
        await db.plain_write(session, rollups._BUMP, {"d": 1, "day": "2026-07-23"})  # the lock
        await db.plain_write(session, inbox._ADD_REF, {**ref, "ref": "once"})  # compiled next
        await db.plain_write(session, inbox._ADD_REF, ref)
        with pytest.raises(exc.IntegrityError):
            async with session.begin_nested():  # as a unit going on after a failed write
                await db.plain_write(session, inbox._ADD_REF, ref)
        await db.plain_write(session, inbox._ADD_REF, {**ref, "ref": "after"})
        await session.commit()
    async with services.db.session() as session:
        connection = await db.connection_of(session)
        refs = await connection.execute(
            text("SELECT ref FROM threadref WHERE conversation_id = :c ORDER BY ref"),
            {"c": conversation.id},
        )
        mine = [row[0] for row in refs if row[0] in ("once", "twice", "after")]
        assert mine == ["after", "once", "twice"]


async def test_a_column_default_to_fill_is_left_to_sqlalchemy(services: Services) -> None:
    conversation = await a_conversation(services)
    async with services.db.session() as session:
        user = await session.get(User, 1)
        assert user is not None
    without_defaults = insert(ResponseTurn)
    params = {"conversation_id": conversation.id, "account_id": conversation.account_id,
              "channel": "webchat", "office_on_duty_id": user.office_id, "started_at": AT}  # fmt: skip
    async with services.db.session(quick=True) as session:
        await db.plain_write(session, rollups._BUMP, {"d": 1, "day": "2026-07-24"})  # the lock
        ids = []
        for _ in range(3):
            with executions(services) as through_sqlalchemy:
                written = await db.plain_write(session, without_defaults, params)
            assert len(through_sqlalchemy) == 1  # "first", "hour_of_week", "local_day" filled
            assert written.lastrowid is not None
            ids.append(written.lastrowid)
        await session.commit()
    async with services.db.session() as session:
        for turn_id in ids:
            turn = await session.get(ResponseTurn, turn_id)
            assert turn is not None and turn.first is False and turn.local_day == ""


async def test_a_follow_up_message_runs_no_statement_through_sqlalchemy(
    services: Services,
) -> None:
    """Every read and write of the unit on SQLite's driver, the first write included; the
    unit's transaction begun and committed by SQLAlchemy."""
    inbox_ = Inbox(services)

    def message(n: int) -> InboundMessage:
        return InboundMessage(
            channel=Channel.WEBCHAT, account="chat-port-argent", external_id=f"f{n}",
            thread_key="v-follow", author=Author(external_id="v-follow", name="Zoé"),
            text=f"Encore une question {n}", received_at=AT,
        )  # fmt: skip

    counts = []
    for n in range(4):  # a first message, then follow-ups (each statement's second run on)
        with executions(services) as through_sqlalchemy:
            await inbox_.ingest(message(n))
        counts.append(len(through_sqlalchemy))
    async with services.db.session() as session:
        dialect = (await db.connection_of(session)).dialect.name
    if dialect == "sqlite":
        assert counts[-1] == 0, counts
    else:  # PostgreSQL: SQLAlchemy's execution throughout
        assert counts[-1] >= 10, counts
