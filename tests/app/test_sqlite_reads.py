"""The hot path's reads past SQLAlchemy's execution on SQLite (app.sqlite_reads, through
``db.plain_rows``): the same rows as SQLAlchemy gives — values, types (aware datetimes,
booleans, NULLs) and names — and each statement still seen by the engine's cursor events, its
text cleaned as any other's; SQLAlchemy's own execution wherever the driver does not run here (PostgreSQL, a slow unit of
work, an expanding parameter, a statement built for each call). Real SQLite or PostgreSQL, real Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, column, event, exc, select, table

from app import (
    actions,
    db,
    inbound_identity,
    metrics,
    moderation,
    outbox,
    repository,
    rule_ingest,
    sqlite_reads,
)
from app.inbox import Inbox
from app.models import Block, Conversation, ConversationLabel, Label, Message, Rule
from app.services import Services
from connectors.base import Author, Channel, InboundMessage

AT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
NOW = AT + timedelta(hours=1)  # when the reads ask (a whole second: its text form matters)
# A statement with a list parameter (expanding): SQLAlchemy builds its text at each run.
_MESSAGES = Message.__table__.c  # type: ignore[attr-defined]
_ANY_OF = select(_MESSAGES.id).where(
    _MESSAGES.account_id == bindparam("account_id"),
    _MESSAGES.external_id.in_(bindparam("ids", expanding=True)),
)


async def a_conversation(services: Services) -> Conversation:
    """A chat opened by a visitor, with a rule and a block of the destination stored beside
    it: rows with datetimes, booleans, NULLs and text for the reads to give back."""
    stored = await Inbox(services).ingest(
        InboundMessage(
            channel=Channel.WEBCHAT, account="chat-port-argent", external_id="r1",
            thread_key="v-reads", author=Author(external_id="v-reads", name="Zoé Ñúñez"),
            text="Bonjour, le phare ?", received_at=AT,
        )
    )  # fmt: skip
    async with services.db.session() as session:
        conversation = await session.get(Conversation, stored.conversation_id)
        assert conversation is not None
        session.add(
            Rule(
                destination_id=conversation.destination_id, name="Marées", key="marees",
                words='["marée"]', priority=True, active=True, created_at=AT,
                updated_at=AT + timedelta(seconds=1.5),
            )
        )  # fmt: skip
        session.add(
            Block(
                destination_id=conversation.destination_id, kind="contact", channel="webchat",
                value="v-spam\ufffd", created_at=AT, expires_at=AT + timedelta(days=1),
            )
        )  # fmt: skip
        session.add(  # lapsed at the very instant the reads ask at: not in force
            Block(
                destination_id=conversation.destination_id, kind="contact", channel="webchat",
                value="v-lapsed", created_at=AT, expires_at=NOW,
            )
        )  # fmt: skip
        label = Label(destination_id=conversation.destination_id, name="Phare", key="phare",
                      created_at=AT)  # fmt: skip
        session.add(label)
        await session.flush()
        assert conversation.id is not None and label.id is not None
        session.add(
            ConversationLabel(conversation_id=conversation.id, label_id=label.id, added_at=AT)
        )
        await session.commit()
    return conversation


def hot_reads(conversation: Conversation) -> list[tuple[Any, dict[str, Any]]]:
    """The statements the chat's hot path reads through ``db.plain_rows``, with parameters
    that find rows."""
    sender = {"d": conversation.destination_id, "channel": "webchat", "now": NOW}
    return [
        (repository._LABELS_OF_ONE, {"id": conversation.id}),
        (repository._CONTACT_NAMED, {"id": conversation.contact_id}),
        (metrics._ANY_TURN, {"c": conversation.id}),
        (metrics._OPEN_TURN, {"c": conversation.id}),
        (moderation._SENDER, {**sender, "value": "v-spam\ufffd"}),
        (moderation._SENDER_OR_IP, {**sender, "value": "v-spam\ufffd", "ip": "203.0.113.9"}),
        (moderation._SENDER, {**sender, "value": "v-lapsed"}),
        (rule_ingest._ACTIVE, {"d": conversation.destination_id}),
        (outbox._FILES, {"m": 1}),
        # Joined selects of whole models, their repeated names made unique as SQLAlchemy's
        # rows make them ("id_1"): the account with its destination, the conversation with both.
        (repository._ACCOUNT_AND_DESTINATION, {"key": "chat-port-argent"}),
        (actions._WITH_ACCOUNT, {"id": conversation.id}),
        (  # the message's ids, each its own parameter: one of them stored
            inbound_identity._ANY_STORED,
            {
                "account_id": conversation.account_id,
                "id0": "r0",
                "id1": "r1",
                "id2": "r0",
                "id3": "r0",
            },
        ),
    ]


async def test_each_hot_read_gives_the_rows_sqlalchemy_gives(services: Services) -> None:
    conversation = await a_conversation(services)
    found_rows = 0
    for statement, params in hot_reads(conversation):
        async with services.db.session(quick=True) as session:
            await db.plain_rows(session, statement, params)  # its first run: SQLAlchemy's
            here = await db.plain_rows(session, statement, params)
            connection = await db.connection_of(session)
            theirs = (await connection.execute(statement, params)).all()
        assert [tuple(row) for row in here] == [tuple(row) for row in theirs], statement
        for mine, their in zip(here, theirs, strict=True):
            assert [type(v) for v in mine] == [type(v) for v in their], statement
            for name in their._fields:  # by name as by position
                assert getattr(mine, name) == getattr(their, name)
            for value in mine:
                if isinstance(value, datetime):
                    assert value.tzinfo is not None  # aware, as the column type gives it
        found_rows += len(here)
    assert found_rows == 10  # one row each, but the lapsed block's and the files (none)


async def test_a_quick_unit_reads_on_the_driver_each_statement_seen_and_its_text_cleaned(
    services: Services,
) -> None:
    conversation = await a_conversation(services)
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        async with services.db.session(quick=True) as session:
            connection = (await db.connection_of(session)).sync_connection
            assert connection is not None
            on_sqlite = connection.dialect.name == "sqlite"  # else never on the driver
            for statement, params in hot_reads(conversation):
                await db.plain_rows(session, statement, params)  # (a statement's first run)
                found = sqlite_reads.rows(connection, statement, params)
                assert (found is not None) == on_sqlite, statement
                if found is None:  # run by SQLAlchemy, as db.plain_rows then does
                    await db.plain_rows(session, statement, params)
            # A NUL in a looked-up value is cleaned as any statement's (app.db): the block
            # stored with U+FFFD in its place is found.
            statement, params = hot_reads(conversation)[4]
            blocked = await db.plain_rows(session, statement, {**params, "value": "v-spam\x00"})
            assert [tuple(row) for row in blocked] and blocked[0].kind == "contact"
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(seen) == 2 * len(hot_reads(conversation)) + 1
    # Each listener in turn, as SQLAlchemy calls them: this one, added after app.db's, sees
    # the parameters it cleaned.
    assert seen[-1][1][2:4] == ("webchat", "v-spam\ufffd")
    # A statement with an expanding parameter, or a unit of work off the quick path, is run
    # by SQLAlchemy (the caller's fallback): ``rows`` says None.
    async with services.db.session(quick=True) as session:
        connection = (await db.connection_of(session)).sync_connection
        assert connection is not None
        params = {"account_id": conversation.account_id, "ids": ["r1"]}
        for _ in range(2):
            assert sqlite_reads.rows(connection, _ANY_OF, params) is None
            assert len(await db.plain_rows(session, _ANY_OF, params)) == 1
        # Nor a statement built for each call, never run twice: compiling it here would cost
        # more than SQLAlchemy's cache, which finds it by its cache key.
        for _ in range(2):
            each_time = select(Rule.__table__.c.id).where(Rule.__table__.c.destination_id == 1)
            assert sqlite_reads.rows(connection, each_time, {}) is None
            assert len(await db.plain_rows(session, each_time, {})) == 1
    async with services.db.session() as session:
        connection = (await db.connection_of(session)).sync_connection
        assert connection is not None
        assert sqlite_reads.rows(connection, *hot_reads(conversation)[0]) is None


async def test_a_driver_error_is_sqlalchemy_s(services: Services) -> None:
    """As SQLAlchemy's execution raises it; on SQLite the unit of work reads on after it."""
    missing = select(column("x")).select_from(table("no_such_table"))
    async with services.db.session(quick=True) as session:
        for _ in range(2):  # the second run on the driver, on SQLite
            with pytest.raises(exc.DBAPIError, match="no_such_table"):
                await db.plain_rows(session, missing, {})
        connection = (await db.connection_of(session)).sync_connection
        assert connection is not None
        if connection.dialect.name == "sqlite":
            with pytest.raises(exc.OperationalError, match="no such table: no_such_table"):
                sqlite_reads.rows(connection, missing, {})
            rules = await db.plain_rows(session, rule_ingest._ACTIVE, {"d": 1})
            assert rules == []
