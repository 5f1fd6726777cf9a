"""The changes of loaded objects written past the ORM's flush (app.orm_flush): one UPDATE of
the changed columns, the objects left as the flush leaves them (unchanged, part of the
transaction: a rollback expires them), the mapper's listeners run (the search index), a row
gone raising as the flush raises, and what only the ORM can flush left to it. Real SQLite or
PostgreSQL, real Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, orm_reads, repository, search
from app.models import Conversation, ConversationStatus, Destination, Label
from app.services import Services
from tests.app.test_orm_reads import a_conversation
from tests.app.test_plain_writes import engine_events

PARIS = ZoneInfo("Europe/Paris")


@contextmanager
def updates(services: Services) -> Iterator[list[str]]:
    """The UPDATE statements the engine sends meanwhile (listed at the block's end)."""
    sent: list[str] = []
    with engine_events(services, "before_cursor_execute") as seen:
        yield sent
    sent.extend(args[2] for args in seen if args[2].lstrip().upper().startswith("UPDATE"))


@contextmanager
def orm_flushes(session: AsyncSession) -> Iterator[list[int]]:
    """The session's calls of the ORM's own flush meanwhile."""
    calls: list[int] = []
    sync = session.sync_session
    flush = sync.flush

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        flush(*args, **kwargs)

    sync.flush = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del sync.flush


async def committed(services: Services, conversation_id: int, **values: Any) -> list[int]:
    """Sets ``values`` on the stored conversation in a quick unit of work and commits it; the
    calls of the ORM's own flush that took."""
    async with services.db.session(quick=True) as session:
        conversation = await orm_reads.get(session, Conversation, conversation_id)
        assert conversation is not None
        for name, value in values.items():
            setattr(conversation, name, value)
        with orm_flushes(session) as flushed:
            await session.commit()
    return flushed


def set_columns(statement: str) -> set[str]:
    found = re.search(r"\bSET (.*) WHERE", statement, re.S)
    assert found is not None, statement
    return {part.split("=")[0].strip().strip('"') for part in found.group(1).split(",")}


async def test_a_change_is_one_update_of_the_changed_columns(services: Services) -> None:
    conversation_id = await a_conversation(services)
    evening = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)  # the night 02:30 comes twice
    for quick in (False, True):
        with updates(services) as sent:
            async with services.db.session(quick=quick) as session:
                conversation = await orm_reads.get(session, Conversation, conversation_id)
                assert conversation is not None
                conversation.preview = f"Changé {quick}"
                conversation.unread += 2
                conversation.last_message_at = evening.replace(fold=1)
                waited = conversation.waiting_since
                conversation.waiting_since = None if waited else evening  # changed each time
                conversation.status = conversation.status  # the same value: no change
                with orm_flushes(session) as flushed:
                    await session.commit()
                assert flushed == []  # past the ORM's flush
                state = inspect(conversation)
                assert not state.modified and not session.dirty and not state.committed_state
                await session.commit()  # nothing left to write
        assert len(sent) == 1
        assert set_columns(sent[0]) == {"preview", "unread", "last_message_at", "waiting_since"}
        async with services.db.session() as session:
            stored = await session.get(Conversation, conversation_id)
            assert stored is not None and stored.preview == f"Changé {quick}"
            assert stored.last_message_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
            # (An instant of the repeated hour equals no other zone's: compared in UTC.)
            first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30, summer time
            assert stored.waiting_since == (None if waited else first)
            assert stored.status == ConversationStatus.OPEN


async def test_an_object_set_to_its_own_values_writes_nothing(services: Services) -> None:
    conversation_id = await a_conversation(services)
    with updates(services) as sent:
        async with services.db.session(quick=True) as session:
            conversation = await orm_reads.get(session, Conversation, conversation_id)
            assert conversation is not None
            conversation.preview = str(conversation.preview)  # an equal value
            assert session.dirty
            await session.commit()
            assert not session.dirty
    assert sent == []


async def test_the_subject_s_search_document_follows_the_change(services: Services) -> None:
    conversation_id = await a_conversation(services)
    doc = search.doc_id(search.Kind.SUBJECT, conversation_id)
    assert await committed(services, conversation_id, subject="Marées d'équinoxe") == []
    async with services.db.session() as session:
        connection = await db.connection_of(session)
        index = search.backend(connection.dialect.name)
        bodies = (await connection.execute(index.bodies([doc], meta=True))).all()
    assert [tuple(row) for row in bodies] == [(doc, conversation_id, "marees d equinoxe")]


async def test_a_row_gone_meanwhile_raises_as_the_flush_raises(services: Services) -> None:
    async with services.db.session() as session:
        destination = (await session.exec(select(Destination))).first()
        assert destination is not None and destination.id is not None
        label = Label(destination_id=destination.id, name="Vélo", key="velo",
                      created_at=datetime(2026, 7, 1, tzinfo=UTC))  # fmt: skip
        session.add(label)
        await session.commit()
        label_id = label.id
    assert label_id is not None
    async with services.db.session(quick=True) as session:
        mine = await orm_reads.get(session, Label, label_id)
        assert mine is not None
        async with services.db.session() as other:
            gone = await other.get(Label, label_id)
            await other.delete(gone)
            await other.commit()
        mine.name = "Vélo électrique"
        with pytest.raises(StaleDataError, match="expected to update 1 row"):
            await session.commit()
        await session.rollback()
    async with services.db.session() as session:
        assert await session.get(Label, label_id) is None


async def test_a_rollback_expires_what_was_written(services: Services) -> None:
    """As after the ORM's flush: the objects written are the transaction's, and a rolled back
    savepoint or transaction expires them (their values read again are the stored ones)."""
    conversation_id = await a_conversation(services)
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        before = conversation.preview
        savepoint = await session.begin_nested()
        conversation.preview = "dans le point de sauvegarde"
        with orm_flushes(session) as flushed:  # a read past the ORM flushes first
            await db.plain_rows(session, repository._LABELS_OF_ONE, {"id": conversation_id})
        assert flushed == [] and not session.dirty
        assert inspect(conversation).committed_state == {}
        await savepoint.rollback()
        assert "preview" in inspect(conversation).expired_attributes
        await session.refresh(conversation)
        assert conversation.preview == before
        conversation.preview = "dans la transaction"
        await db.plain_rows(session, repository._LABELS_OF_ONE, {"id": conversation_id})
        await session.rollback()
        assert "preview" in inspect(conversation).expired_attributes
    async with services.db.session() as session:
        stored = await session.get(Conversation, conversation_id)
        assert stored is not None and stored.preview == before


async def test_what_only_the_orm_can_flush_is_left_to_it(services: Services) -> None:
    conversation_id = await a_conversation(services)
    async with services.db.session(quick=True) as session:
        conversation = await orm_reads.get(session, Conversation, conversation_id)
        assert conversation is not None
        unread = conversation.unread
        # A value that is a SQL expression, beside a plain one.
        conversation.unread = col(Conversation.unread) + 3  # type: ignore[assignment]
        conversation.preview = "une expression"
        with orm_flushes(session) as flushed:
            await session.commit()
        assert flushed == [1]
        # A new object beside a change.
        await session.refresh(conversation)
        label = Label(destination_id=conversation.destination_id, name="Phare bis",
                      key="phare-bis", created_at=datetime(2026, 7, 1, tzinfo=UTC))  # fmt: skip
        session.add(label)
        conversation.preview = "avec un nouvel objet"
        with orm_flushes(session) as flushed:
            await session.commit()
        assert flushed == [1] and label.id is not None
    async with services.db.session() as session:
        stored = await session.get(Conversation, conversation_id)
        assert stored is not None and stored.unread == unread + 3
        assert stored.preview == "avec un nouvel objet"
        assert await session.get(Label, label.id) is not None


async def test_a_mapper_with_a_before_update_listener_is_the_orm_s_to_flush(
    services: Services,
) -> None:
    """Such a listener may change the object it is given: the ORM's flush writes that too."""
    conversation_id = await a_conversation(services)

    def signed(_mapper: Any, _connection: Any, target: Conversation) -> None:
        target.preview = f"{target.preview} (relu)"

    event.listen(Conversation, "before_update", signed)
    try:
        assert await committed(services, conversation_id, preview="Changé") == [1]
    finally:
        event.remove(Conversation, "before_update", signed)
    async with services.db.session() as session:
        stored = await session.get(Conversation, conversation_id)
        assert stored is not None and stored.preview == "Changé (relu)"
