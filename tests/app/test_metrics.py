"""Response turns recorded as they happen, with exact figures for hand-built conversations."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from app import actions
from app.inbox import Inbox
from app.models import Conversation, ConversationStatus, ResponseTurn, Role, User
from app.services import Services
from connectors.base import Author, Channel, InboundMessage


def chat(n: int, at: datetime, visitor: str = "v1") -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT,
        account="chat-port-argent",
        external_id=f"{visitor}:c{n}",
        thread_key=visitor,
        author=Author(external_id=visitor),
        text=f"message {n}",
        received_at=at,
    )


async def turns(services: Services) -> list[ResponseTurn]:
    async with services.db.session() as session:
        return list((await session.exec(select(ResponseTurn).order_by(col(ResponseTurn.id)))).all())


async def camille(services: Services) -> User:
    async with services.db.session() as session:
        user = (
            await session.exec(select(User).where(User.email == "camille@port-argent.example"))
        ).one()
    return user


async def adviser_of(services: Services, conversation_id: int) -> User:
    """An adviser of the office the conversation was routed to."""
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return (
            await session.exec(
                select(User)
                .where(User.office_id == conversation.office_id, User.role == Role.ADVISER)
                .order_by(col(User.id))
            )
        ).first() or pytest.fail("no adviser in the office on duty")


async def test_a_reply_across_the_spring_dst_night(services: Services) -> None:
    asked = datetime(2026, 3, 28, 20, 50, tzinfo=UTC)  # Saturday 21:50 in Paris, duty until 22:00
    answered = datetime(2026, 3, 29, 8, 5, tzinfo=UTC)  # Sunday 10:05 CEST, duty from 10:00
    services.clock.set(asked, frozen=True)
    result = await Inbox(services).ingest(chat(1, asked))
    await Inbox(services).ingest(chat(2, datetime(2026, 3, 28, 20, 55, tzinfo=UTC)))  # same turn
    services.clock.set(answered, frozen=True)
    adviser = await adviser_of(services, result.conversation_id)  # the office on duty that night
    await actions.reply(services, adviser, result.conversation_id, "Bonjour !")
    (turn,) = await turns(services)
    assert turn.first and turn.started_at == asked and turn.answered_at == answered
    assert turn.wall_seconds == 11 * 3600 + 15 * 60  # real time: the night lost an hour
    assert turn.duty_seconds == 15 * 60  # 21:50–22:00 Saturday, 10:00–10:05 Sunday
    assert turn.hour_of_week == 5 * 24 + 21  # Saturday, 21:00–22:00
    assert turn.responder_id == adviser.id and turn.responder_office_id == adviser.office_id


async def test_automatic_replies_never_count_and_a_reopen_opens_a_later_turn(
    services: Services,
) -> None:
    night = datetime(2026, 7, 21, 21, 30, tzinfo=UTC)  # Tuesday 23:30: nobody on duty
    services.clock.set(night, frozen=True)
    result = await Inbox(services).ingest(chat(1, night))
    (turn,) = await turns(services)
    assert turn.answered_at is None  # the automatic reply went out, the turn is still open
    morning = datetime(2026, 7, 22, 7, 30, tzinfo=UTC)  # Wednesday 09:30
    services.clock.set(morning, frozen=True)
    user = await camille(services)
    await actions.reply(services, user, result.conversation_id, "Bonjour")
    await actions.reply(services, user, result.conversation_id, "Autre chose ?")  # no new turn
    await actions.set_status(services, user, result.conversation_id, ConversationStatus.RESOLVED)
    later = datetime(2026, 7, 22, 12, 0, tzinfo=UTC)
    services.clock.set(later, frozen=True)
    await Inbox(services).ingest(dataclasses.replace(chat(2, later)))
    first, second = await turns(services)
    assert first.first and first.wall_seconds == 10 * 3600
    assert first.duty_seconds == 30 * 60  # only from 09:00, when Port-Argent opened
    # Reopened by the visitor: a later turn of the same conversation, never a new conversation.
    assert not second.first and second.started_at == later and second.answered_at is None
