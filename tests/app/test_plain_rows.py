"""Reads past the ORM (``app.db.plain_rows``: a conversation's contact names and labels, the
keyword rules) see what the unit of work changed, as the ORM's reads do — and, with autoflush
off, what is stored, as the ORM's reads do then."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy import select as select_core
from sqlmodel import col

from app import db, repository
from app.inbox import Inbox
from app.models import Contact, Conversation, ConversationLabel, Label
from app.services import Services
from connectors.base import Author, Channel, InboundMessage

AT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


async def test_reads_past_the_orm_see_the_unit_of_work_s_changes(services: Services) -> None:
    stored = await Inbox(services).ingest(
        InboundMessage(
            channel=Channel.WEBCHAT,
            account="chat-port-argent",
            external_id="m1",
            thread_key="v-rows",
            author=Author(external_id="v-rows", name="Ana"),
            text="Bonjour",
            received_at=AT,
        )
    )
    async with services.db.session() as session:
        conversation = await session.get(Conversation, stored.conversation_id)
        assert conversation is not None and conversation.id is not None
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None and contact.id is not None
        contact_id = contact.id
        contact.name = "Ana Lopez"
        label = Label(destination_id=1, name="Marées", key="marees", created_at=AT)
        session.add_all([contact, label])
        await session.flush()
        assert label.id is not None
        session.add(
            ConversationLabel(conversation_id=conversation.id, label_id=label.id, added_at=AT)
        )
        view = await repository.conversation_out(session, conversation)
        assert view.contact_name == "Ana Lopez"  # changed, not yet flushed
        assert [label.name for label in view.labels] == ["Marées"]  # added, not yet flushed

        session.autoflush = False
        contact.name = "Ana L."
        session.add(contact)
        view = await repository.conversation_out(session, conversation)
        assert view.contact_name == "Ana Lopez"  # what is stored, as an ORM read would say
        await session.rollback()
    async with services.db.session() as session:
        contacts, _ = await repository.contacts_named(session, {contact_id})
        assert contacts[contact_id].name == "Ana"  # nothing of the above was committed


async def test_a_session_s_kept_connection_is_its_transaction_s_and_no_later_one_s(
    services: Services,
) -> None:
    """``db.connection_of`` keeps the connection for the rest of the transaction only: what is
    written on it is committed or rolled back with the session, and the next transaction asks
    the session again."""
    added = insert(Label)

    def label(key: str) -> dict[str, object]:
        return {"destination_id": 1, "name": key, "key": key, "created_at": AT}

    async with services.db.session() as session:
        first = await db.connection_of(session)
        assert await db.connection_of(session) is first  # kept within the transaction
        await first.execute(added, label("kept-committed"))
        await session.commit()
        second = await db.connection_of(session)
        assert second is not first  # a new transaction asked the session again
        await second.execute(added, label("kept-rolled-back"))
        await session.rollback()
        third = await db.connection_of(session)
        assert third is not second
        await third.execute(added, label("kept-closed"))  # never committed
    async with services.db.session() as session:
        keys = await db.plain_rows(session, select_core(col(Label.key)), {})
    found = {key for (key,) in keys}
    assert "kept-committed" in found
    assert not {"kept-rolled-back", "kept-closed"} & found
