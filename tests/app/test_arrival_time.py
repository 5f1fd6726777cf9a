"""A message's time is when it reached us, on every channel: the sender's own date (a mail's
``Date:``, a tweet's ``created_at``, a device's clock) is kept as information only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from app import actions, repository
from app.inbox import Inbox, arrival
from app.models import (
    AuthorKind,
    Conversation,
    Message,
    Office,
    ResponseTurn,
    Role,
    RoutingDecision,
    User,
)
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from connectors.webchat.frames import VisitorMessageFrame, parse_frame

SATURDAY_2114 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)  # 21:14 in Paris: les-salines on duty
TUESDAY_2330 = datetime(2026, 7, 21, 21, 30, tzinfo=UTC)  # 23:30 in Paris: nobody on duty
IN_2002 = datetime(2002, 5, 11, 20, 30, tzinfo=UTC)  # a broken sender's clock
ACCOUNTS = {
    Channel.EMAIL: "mail-port-argent",
    Channel.TWITTER: "x-port-argent",
    Channel.WEBCHAT: "chat-port-argent",
}


def inbound(
    n: int,
    received_at: datetime,
    *,
    channel: Channel = Channel.EMAIL,
    sent_at: datetime | None = None,
    thread: str = "",
    language: str = "en",
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        account=ACCOUNTS[channel],
        external_id=f"m{n}@visitor.example",
        thread_key=thread or f"m{n}@visitor.example",
        author=Author(
            external_id=f"visitor{n}@visitor.example",
            handle=f"visitor{n}@visitor.example",
            name=f"Visitor {n}",
            language=language,
        ),
        subject="Horaires",
        text=f"message {n}",
        received_at=received_at,
        sent_at=sent_at,
    )


async def rows(services: Services, model: type, **where: object) -> list:  # type: ignore[type-arg]
    async with services.db.session() as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list((await session.exec(query.order_by(col(model.id)))).all())


async def routed(services: Services, conversation_id: int) -> list[tuple[str, str, datetime]]:
    async with services.db.session() as session:
        found = (
            await session.exec(
                select(RoutingDecision, Office)
                .join(Office, col(Office.id) == col(RoutingDecision.office_id))
                .where(RoutingDecision.conversation_id == conversation_id)
            )
        ).all()
    return [(d.reason, o.slug, d.at) for d, o in found]


def test_arrival_is_never_later_than_now_nor_older_than_the_window() -> None:
    now = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
    week = timedelta(days=7)
    cases = [
        (now - timedelta(hours=3), now - timedelta(hours=3)),  # a backfilled mail: kept
        (now - timedelta(days=6, hours=23), now - timedelta(days=6, hours=23)),
        (now - timedelta(days=7, seconds=1), now),  # older than the window
        (datetime(2002, 5, 11, tzinfo=UTC), now),
        (datetime(1970, 1, 1, tzinfo=UTC), now),
        (now + timedelta(seconds=1), now),  # a clock running ahead
        (datetime(2099, 1, 1, tzinfo=UTC), now),
        (now, now),
    ]
    for received, expected in cases:
        assert arrival(received, now, week) == expected, received


async def test_a_mail_dated_2002_arriving_during_evening_duty_is_routed_as_of_now(
    services: Services,
) -> None:
    services.clock.set(SATURDAY_2114, frozen=True)
    # The mailbox gave no arrival of its own: the parser fell back on the sender's date.
    result = await Inbox(services).ingest(inbound(1, IN_2002, sent_at=IN_2002))
    assert await routed(services, result.conversation_id) == [
        ("shared_duty", "les-salines", SATURDAY_2114)
    ]
    (message,) = await rows(services, Message, conversation_id=result.conversation_id)
    assert message.created_at == SATURDAY_2114 and message.sent_at == IN_2002
    assert message.author_kind == AuthorKind.VISITOR  # someone is on duty: no automatic reply
    (conversation,) = await rows(services, Conversation, id=result.conversation_id)
    assert conversation.created_at == conversation.last_message_at == SATURDAY_2114
    assert conversation.waiting_since == SATURDAY_2114  # the dashboard's "oldest waiting": now
    (turn,) = await rows(services, ResponseTurn)
    assert turn.started_at == SATURDAY_2114
    async with services.db.session() as session:
        (shown,) = await repository.messages_out(session, result.conversation_id)
    assert shown.sent_at == IN_2002 and shown.created_at == SATURDAY_2114


async def test_a_first_response_is_timed_from_the_arrival(services: Services) -> None:
    services.clock.set(SATURDAY_2114, frozen=True)
    claimed = datetime(2002, 5, 11, 20, 30, tzinfo=UTC)  # a device's clock, decades behind
    result = await Inbox(services).ingest(inbound(1, claimed, channel=Channel.WEBCHAT))
    services.clock.set(SATURDAY_2114 + timedelta(minutes=4), frozen=True)
    (conversation,) = await rows(services, Conversation, id=result.conversation_id)
    async with services.db.session() as session:
        adviser = (
            await session.exec(
                select(User)
                .where(User.office_id == conversation.office_id, User.role == Role.ADVISER)
                .order_by(col(User.id))
            )
        ).first()
    assert adviser is not None
    await actions.reply(services, adviser, result.conversation_id, "Bonjour !")
    (turn,) = await rows(services, ResponseTurn)
    assert turn.started_at == SATURDAY_2114 and turn.wall_seconds == 240  # not 24 years


async def test_the_automatic_reply_to_an_old_dated_mail_names_the_next_opening_from_now(
    services: Services,
) -> None:
    services.clock.set(TUESDAY_2330, frozen=True)
    result = await Inbox(services).ingest(inbound(1, IN_2002, sent_at=IN_2002))
    assert await routed(services, result.conversation_id) == [
        ("nobody_on_duty", "port-argent", TUESDAY_2330)
    ]
    auto = [
        m.text
        for m in await rows(services, Message, conversation_id=result.conversation_id)
        if m.author_kind == AuthorKind.SYSTEM
    ]
    assert auto == [
        "Thank you for your message! Our advisers are away just now: "
        "Office de Tourisme de Port-Argent will answer you tomorrow at 09:00."
    ]


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.TWITTER, Channel.WEBCHAT])
@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=5), timedelta(days=400), timedelta(days=-30), timedelta(days=-9000)],
    ids=["minutes-ahead", "a-year-ahead", "a-month-back", "decades-back"],
)
async def test_an_arrival_in_the_future_or_long_ago_counts_as_now(
    services: Services, channel: Channel, offset: timedelta
) -> None:
    services.clock.set(SATURDAY_2114, frozen=True)
    claimed = SATURDAY_2114 + offset
    result = await Inbox(services).ingest(inbound(1, claimed, channel=channel, sent_at=claimed))
    (message,) = await rows(services, Message, conversation_id=result.conversation_id)
    (conversation,) = await rows(services, Conversation, id=result.conversation_id)
    assert message.created_at == SATURDAY_2114
    assert message.sent_at == claimed  # information only
    assert conversation.waiting_since == conversation.last_message_at == SATURDAY_2114
    assert [(r, a) for r, _o, a in await routed(services, result.conversation_id)] == [
        ("shared_duty", SATURDAY_2114)
    ]


async def test_a_backfilled_mail_keeps_its_arrival_and_a_thread_sorts_by_arrival(
    services: Services,
) -> None:
    now = SATURDAY_2114
    services.clock.set(now, frozen=True)
    inbox = Inbox(services)
    # Read after the connector was down: it reached the mailbox two days ago.
    two_days = now - timedelta(days=2)
    first = await inbox.ingest(inbound(1, two_days, sent_at=two_days - timedelta(minutes=1)))
    (conversation,) = await rows(services, Conversation, id=first.conversation_id)
    assert conversation.waiting_since == two_days == conversation.created_at
    # Then a follow-up whose sender's clock said 2002, and one from a clock a year ahead.
    services.clock.set(now + timedelta(minutes=1), frozen=True)
    await inbox.ingest(inbound(2, IN_2002, sent_at=IN_2002, thread="m1@visitor.example"))
    services.clock.set(now + timedelta(minutes=2), frozen=True)
    ahead = now + timedelta(days=365)
    await inbox.ingest(inbound(3, ahead, sent_at=ahead, thread="m1@visitor.example"))
    async with services.db.session() as session:
        thread = await repository.messages_out(session, first.conversation_id)
    assert [(m.text, m.created_at) for m in thread] == [
        ("message 1", two_days),
        ("message 2", now + timedelta(minutes=1)),
        ("message 3", now + timedelta(minutes=2)),
    ]
    (conversation,) = await rows(services, Conversation, id=first.conversation_id)
    assert conversation.last_message_at == now + timedelta(minutes=2)
    assert conversation.waiting_since == two_days  # still the first unanswered message


async def test_a_reopened_conversation_is_rerouted_as_of_now(services: Services) -> None:
    services.clock.set(SATURDAY_2114, frozen=True)
    inbox = Inbox(services)
    first = await inbox.ingest(inbound(1, SATURDAY_2114))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        conversation.status = "resolved"
        conversation.waiting_since = None
        session.add(conversation)
        await session.commit()
    later = SATURDAY_2114 + timedelta(minutes=10)
    services.clock.set(later, frozen=True)
    again = dataclasses.replace(
        inbound(2, IN_2002, sent_at=IN_2002), thread_key="m1@visitor.example"
    )
    await inbox.ingest(again)
    decisions = await routed(services, first.conversation_id)
    assert decisions[-1] == ("shared_duty", "les-salines", later)
    (conversation,) = await rows(services, Conversation, id=first.conversation_id)
    assert conversation.status == "open" and conversation.waiting_since == later


def test_a_chat_frame_cannot_carry_its_own_time() -> None:
    """The widget's frame has no time field: whatever a browser adds is ignored, and the
    visitor socket stamps the message with the server's clock (app/web/visitor_ws.py)."""
    frame = parse_frame(
        '{"type": "message", "client_id": "abcdefgh12", "text": "Bonjour",'
        ' "received_at": "2002-05-11T20:30:00Z", "created_at": "2099-01-01T00:00:00Z",'
        ' "sent_at": "1970-01-01T00:00:00Z"}',
        4000,
    )
    assert frame == VisitorMessageFrame(client_id="abcdefgh12", text="Bonjour")
    # Its fields: no time among them (the page it was sent from is the visitor's profile's,
    # the name the one they gave before their first message).
    assert {f.name for f in dataclasses.fields(VisitorMessageFrame)} == {
        "client_id",
        "text",
        "page",
        "name",
    }
