"""Ingest: idempotence, threading, reopening, and events published after commit."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from app import actions, keys
from app.channels import load_connectors
from app.dispatch import supervise_dispatchers
from app.events import ConversationChanged, Event, MessageCreated, event_adapter
from app.inbox import Inbox, UnknownAccountError
from app.models import Conversation, ConversationStatus, DeliveryStatus, Message, User
from app.services import Services
from connectors.base import Author, Channel, InboundMessage, MessageKind

T0 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)


async def capture_events(services: Services) -> list[Event]:
    """Every event published so far for the demo destination, in order."""
    rows = await services.redis.xrange(keys.events(1))
    return [event_adapter.validate_json(fields[b"e"]) for _id, fields in rows]


def mail(external_id: str, text: str = "Bonjour", **kw: object) -> InboundMessage:
    defaults: dict[str, object] = {
        "channel": Channel.WEBCHAT,
        "account": "chat-port-argent",
        "thread_key": kw.pop("thread_key", external_id),
        "author": Author(external_id="visitor-1", name="Ana"),
        "received_at": T0,
    }
    defaults.update(kw)
    return InboundMessage(external_id=external_id, text=text, **defaults)  # type: ignore[arg-type]


async def test_the_same_message_twice_is_stored_once(services: Services) -> None:
    inbox = Inbox(services)
    first = await inbox.ingest(mail("m1"))
    second = await inbox.ingest(mail("m1", text="changed on replay"))
    assert first.created and not second.created
    assert (first.conversation_id, first.message_id) == (second.conversation_id, second.message_id)
    async with services.db.session() as session:
        texts = [m.text for m in (await session.exec(select(Message))).all()]
    assert texts == ["Bonjour"]
    assert len([e for e in await capture_events(services) if isinstance(e, MessageCreated)]) == 1


async def test_thread_key_and_references_join_conversations(services: Services) -> None:
    inbox = Inbox(services)
    a = await inbox.ingest(mail("m1", thread_key="visitor-1"))
    b = await inbox.ingest(
        mail("m2", thread_key="visitor-1", received_at=T0 + timedelta(minutes=1))
    )
    # A reply naming an earlier message joins its conversation whatever its own thread key.
    c = await inbox.ingest(mail("m3", thread_key="other", references=("unknown", "m2")))
    d = await inbox.ingest(mail("m4", thread_key="fresh"))
    assert a.conversation_id == b.conversation_id == c.conversation_id
    assert d.conversation_id != a.conversation_id


async def test_a_message_on_a_resolved_conversation_reopens_it(services: Services) -> None:
    inbox = Inbox(services)
    first = await inbox.ingest(mail("m1", thread_key="v"))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        conversation.status = ConversationStatus.RESOLVED
        conversation.unread = 0
        conversation.waiting_since = None
        session.add(conversation)
        await session.commit()
    later = T0 + timedelta(hours=2)
    await inbox.ingest(mail("m2", thread_key="v", received_at=later))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, first.conversation_id)
    assert conversation is not None
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.unread == 1
    assert conversation.waiting_since == later


async def test_automatic_mail_neither_reopens_nor_waits(services: Services) -> None:
    inbox = Inbox(services)
    result = await inbox.ingest(mail("m1", thread_key="v", kind=MessageKind.AUTO_REPLY))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, result.conversation_id)
    assert conversation is not None
    assert conversation.unread == 0 and conversation.waiting_since is None


async def test_events_name_the_office_and_the_visitor(services: Services) -> None:
    await Inbox(services).ingest(mail("m1", thread_key="visitor-9"))
    events = await capture_events(services)
    assert [type(e) for e in events] == [ConversationChanged, MessageCreated]
    created = events[1]
    assert isinstance(created, MessageCreated)
    assert created.message.text == "Bonjour"
    assert created.message.author_name == "Ana"
    assert created.visitor_key == "chat-port-argent:visitor-9"
    async with services.db.session() as session:
        conversation = await session.get(Conversation, created.conversation_id)
    assert conversation is not None and created.office_id == conversation.office_id


async def test_unknown_account_stores_nothing_and_publishes_nothing(services: Services) -> None:
    with pytest.raises(UnknownAccountError):
        await Inbox(services).ingest(mail("m1", account="chat-nowhere"))
    async with services.db.session() as session:
        assert (await session.exec(select(Message))).first() is None
    assert await capture_events(services) == []


async def test_datetimes_come_back_aware_utc(services: Services) -> None:
    paris = datetime(2026, 3, 29, 3, 30, tzinfo=UTC).astimezone()
    # An arrival counts only within a few days before now (tests/app/test_arrival_time.py).
    services.clock.set(datetime(2026, 3, 29, 4, 0, tzinfo=UTC), frozen=True)
    result = await Inbox(services).ingest(mail("m1", received_at=paris))
    async with services.db.session() as session:
        message = await session.get(Message, result.message_id)
    assert message is not None
    assert message.created_at.tzinfo == UTC
    assert message.created_at == paris


async def wait_sent(services: Services, message_id: int | None) -> bool:
    for _ in range(100):
        async with services.db.session() as session:
            message = await session.get(Message, message_id)
        if message is not None and message.delivery_status == DeliveryStatus.SENT:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_the_outbox_survives_redis_losing_its_stream(services: Services) -> None:
    result = await Inbox(services).ingest(mail("m1"))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, result.conversation_id)
        assert conversation is not None
        # An adviser of the office the rota routed it to (Saturday evening: the one on duty).
        user = (
            await session.exec(
                select(User).where(User.office_id == conversation.office_id).order_by(col(User.id))
            )
        ).first()
        assert user is not None
    await load_connectors(services)
    task = asyncio.create_task(supervise_dispatchers(services, "test-worker"))
    try:
        first = await actions.reply(services, user, result.conversation_id, "one")
        assert await wait_sent(services, first.id)
        await services.redis.delete(keys.outbox(1))  # Redis restarted without its data
        second = await actions.reply(services, user, result.conversation_id, "two")
        assert await wait_sent(services, second.id)
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
