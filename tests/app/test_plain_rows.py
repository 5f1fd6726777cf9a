"""Reads past the ORM (``app.db.plain_rows``: a conversation's contact names and labels, the
keyword rules) see what the unit of work changed, as the ORM's reads do — and, with autoflush
off, what is stored, as the ORM's reads do then."""

from __future__ import annotations

from datetime import UTC, datetime

from app import repository
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
