"""The hot path's objects read past the ORM's loading (app.orm_reads): the same objects as the
ORM's read gives — every column, persistent and unchanged in the session, their changes
flushed as a loaded object's — the session's own object given back as it is, its expired
attributes filled from the row. Real SQLite or PostgreSQL, real Redis."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, inspect
from sqlmodel import col, select

from app import orm_reads
from app.models import Account, Contact, Conversation, Destination, User
from app.services import Services
from tests.app.test_sqlite_reads import a_conversation as stored_conversation

_CONVERSATION = select(Conversation).where(Conversation.id == bindparam("id"))
_ACCOUNT = select(Account).where(Account.key == bindparam("key"))
_WITH_ACCOUNT = (
    select(Conversation, Account, Destination)
    .join(Account, col(Account.id) == Conversation.account_id)
    .join(Destination, col(Destination.id) == Account.destination_id)
    .where(Conversation.id == bindparam("id"))
)


async def a_conversation(services: Services) -> int:
    """A chat opened by a visitor (with rows of other kinds beside it)."""
    conversation = await stored_conversation(services)
    assert conversation.id is not None
    return conversation.id


def columns(row: Any) -> dict[str, Any]:
    return {prop.key: getattr(row, prop.key) for prop in inspect(type(row)).column_attrs}


async def test_the_objects_are_those_the_orm_reads(services: Services) -> None:
    conversation_id = await a_conversation(services)
    async with services.db.session() as session:
        theirs = [columns(c) for c in (await session.exec(_CONVERSATION, params={"id": conversation_id})).all()]  # fmt: skip
        accounts = [columns(a) for a in (await session.exec(_ACCOUNT, params={"key": "chat-port-argent"})).all()]  # fmt: skip
    for quick in (False, True):  # the driver's thread, or SQLite's quick path
        async with services.db.session(quick=quick) as session:
            for _ in range(2):  # a statement's second run is compiled once (app.sqlite_reads)
                mine = await orm_reads.objects(session, _CONVERSATION, {"id": conversation_id})
                assert [columns(c) for c in mine] == theirs
                assert mine[0].waiting_since is not None and mine[0].waiting_since.tzinfo
                state = inspect(mine[0])
                assert state.persistent and not state.modified and not state.expired_attributes
                assert not session.dirty and not session.new
                account = await orm_reads.objects(session, _ACCOUNT, {"key": "chat-port-argent"})
                assert [columns(a) for a in account] == accounts
                assert await orm_reads.objects(session, _ACCOUNT, {"key": "nope"}) == []
                session.expunge_all()


async def test_a_joined_select_gives_a_tuple_of_objects_a_row(services: Services) -> None:
    conversation_id = await a_conversation(services)
    async with services.db.session() as session:
        theirs = (await session.exec(_WITH_ACCOUNT, params={"id": conversation_id})).all()
        expected = [tuple(columns(entity) for entity in row) for row in theirs]
    async with services.db.session(quick=True) as session:
        for _ in range(2):
            mine = await orm_reads.objects(session, _WITH_ACCOUNT, {"id": conversation_id})
            assert [tuple(columns(entity) for entity in row) for row in mine] == expected
            conversation, account, destination = mine[0]
            assert isinstance(destination, Destination) and conversation.account_id == account.id
            assert all(inspect(entity).persistent for entity in mine[0])
            assert await orm_reads.get(session, Destination, destination.id) is destination


async def test_a_change_is_flushed_as_a_loaded_object_s(services: Services) -> None:
    conversation_id = await a_conversation(services)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with services.db.session(quick=True) as session:
            (conversation,) = await orm_reads.objects(
                session, _CONVERSATION, {"id": conversation_id}
            )
            await session.commit()  # nothing changed: nothing written
            assert "UPDATE" not in statements
            # Expired: read again, its attributes come from the row (no lazy load, which an
            # async session cannot do on attribute access).
            session.expire(conversation)
            again = await orm_reads.objects(session, _CONVERSATION, {"id": conversation_id})
            assert again == [conversation] and conversation.preview == "Bonjour, le phare ?"
            conversation.preview = "Changé"
            await session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements.count("UPDATE") == 1
    async with services.db.session() as session:
        stored = await session.get(Conversation, conversation_id)
        assert stored is not None and stored.preview == "Changé"


async def test_the_session_s_own_object_is_given_back_as_it_is(services: Services) -> None:
    conversation_id = await a_conversation(services)
    async with services.db.session() as session:
        held = await session.get(Conversation, conversation_id)
        assert held is not None
        unread = held.unread
        # Changed elsewhere and committed: the session's object keeps its own state, as the
        # ORM's read keeps it (no refresh of what is loaded), and its own change.
        async with services.db.session() as other:
            elsewhere = await other.get(Conversation, conversation_id)
            assert elsewhere is not None
            elsewhere.unread = unread + 7
            await other.commit()
        held.preview = "changé ici"
        (found,) = await orm_reads.objects(session, _CONVERSATION, {"id": conversation_id})
        assert found is held and found.preview == "changé ici" and found.unread == unread
        assert await orm_reads.get(session, Conversation, conversation_id) is held


async def test_get_reads_nothing_for_an_object_held_and_none_for_a_missing_row(
    services: Services,
) -> None:
    async with services.db.session() as session:
        user = (await session.exec(select(User))).first()
        assert user is not None and user.id is not None
        statements: list[str] = []
        engine = services.db.engine.sync_engine
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            assert await orm_reads.get(session, User, user.id) is user
            assert statements == []
            assert await orm_reads.get(session, User, 10_000_000) is None
            assert len(statements) == 1
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        destination = await orm_reads.get(session, Destination, user.destination_id)
        assert destination is not None and inspect(destination).persistent


async def test_a_select_not_of_whole_models_is_refused(services: Services) -> None:
    async with services.db.session() as session:
        for statement in (
            select(Contact.id, Contact.name),  # some columns only
            select(Account, Destination.name).join(Destination),  # a model and a column
        ):
            with pytest.raises(ValueError, match="whole models"):
                await orm_reads.objects(session, statement, {})
