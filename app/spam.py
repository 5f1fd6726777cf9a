"""Spam: a conversation a manager marked as spam, or written by a blocked sender.

A spam conversation leaves every adviser list, count, queue and assignment, and the response-time
figures (its turns are removed, the days' rollups marked stale); it is kept whole for a manager to
review in the Spam view and restore. New messages to it are stored (never lost) and stay in spam.
Restoring puts it back in its office's queue, its turns rebuilt from its messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, repository
from app.events import AudienceFields
from app.metrics import close_turn, open_turn
from app.models import (
    Account,
    Activity,
    AuthorKind,
    Contact,
    Conversation,
    ConversationStatus,
    Destination,
    Direction,
    Message,
    ResponseTurn,
    User,
)
from app.moderation import sender_block
from app.rollups import day_changed
from app.services import Services
from connectors.base import InboundMessage

log = logging.getLogger(__name__)


async def set_aside(session: AsyncSession, conversation: Conversation) -> None:
    """Takes a conversation out of the work (in the caller's transaction): resolved, assigned
    to nobody, nothing unread or waiting, and its turns out of the figures."""
    await set_aside_many(session, [conversation])


async def set_aside_many(session: AsyncSession, conversations: Sequence[Conversation]) -> None:
    """:func:`set_aside` for many conversations, with one read and one delete of their turns."""
    if not conversations:
        return
    for conversation in conversations:
        conversation.spam = True
        conversation.status = ConversationStatus.RESOLVED
        conversation.assignee_id = None
        conversation.unread = 0
        conversation.waiting_since = None
        session.add(conversation)
    ids = [c.id for c in conversations]
    destinations = {c.id: c.destination_id for c in conversations}
    days = (
        await session.exec(
            select(ResponseTurn.conversation_id, ResponseTurn.local_day)
            .where(col(ResponseTurn.conversation_id).in_(ids))
            .distinct()
        )
    ).all()
    await session.exec(delete(ResponseTurn).where(col(ResponseTurn.conversation_id).in_(ids)))
    # The days whose rollups counted these turns are built again (app.rollups).
    for destination_id, day in sorted({(destinations[c], d) for c, d in days}):
        await day_changed(session, destination_id, day)


async def bring_back(services: Services, session: AsyncSession, conversation: Conversation) -> None:
    """Puts a spam conversation back to work: open in its office's queue, waiting since its
    visitor's last unanswered message, and its turns rebuilt from its messages."""
    conversation.spam = False
    conversation.status = ConversationStatus.OPEN
    rows = await repository.messages(session, conversation.id or 0)
    unanswered = _unanswered(rows)
    conversation.unread = len(unanswered)
    conversation.waiting_since = unanswered[0].created_at if unanswered else None
    session.add(conversation)
    await _replay_turns(services, session, conversation, rows)


def _unanswered(rows: Sequence[Message]) -> list[Message]:
    """The visitor's messages after the last reply."""
    found: list[Message] = []
    for m in rows:
        if m.direction == Direction.OUT and m.author_kind == AuthorKind.ADVISER:
            found = []
        elif m.direction == Direction.IN and m.kind == "normal":
            found.append(m)
    return found


async def _replay_turns(
    services: Services, session: AsyncSession, conversation: Conversation, rows: Sequence[Message]
) -> None:
    destination = await session.get(Destination, conversation.destination_id)
    account = await session.get(Account, conversation.account_id)
    assert destination is not None and account is not None
    rota = await services.router.schedule(session, destination.id or 0)
    users = await repository.cached_by_id(
        session, User, {m.author_user_id for m in rows if m.author_user_id}
    )
    waiting = False
    first = True
    for m in rows:
        if m.direction == Direction.IN and m.kind == "normal" and not waiting:
            await open_turn(session, conversation, destination, m.created_at, first)
            await session.flush()
            waiting, first = True, False
        elif m.direction == Direction.OUT and m.author_kind == AuthorKind.ADVISER and waiting:
            responder = users.get(m.author_user_id or 0)
            if responder is not None:
                await close_turn(session, conversation, account, responder, m.created_at, rota)
                await session.flush()
            waiting = False


async def screen(
    services: Services,
    session: AsyncSession,
    account: Account,
    contact: Contact,
    conversation: Conversation,
    inbound: InboundMessage,
) -> list[Activity]:
    """The ingest's look at a new message, in its transaction: notes the chat visitor's
    address, and sends a blocked sender's conversation to spam (the message is still stored).
    Returns the activity lines it wrote."""
    ip = inbound.metadata.get("ip", "")[:64] if account.channel == "webchat" else ""
    if ip:
        conversation.visitor_ip = ip
    now = services.clock.now()
    block = await sender_block(
        session, account.destination_id, account.channel, contact.external_id, ip, now
    )
    if block is None or conversation.spam:
        return []
    await session.flush()  # a new conversation gets its id
    await set_aside(session, conversation)
    log.info(
        "message to %s from a blocked %s stored as spam (block %s, conversation %s)",
        account.key,
        block.kind,
        block.id,
        conversation.id,
    )
    return [activity.add(session, conversation.id or 0, "spam", now, detail="blocked")]


def audience_of(
    audience: AudienceFields, conversation: Conversation, lines: Sequence[Activity]
) -> AudienceFields:
    """Who hears of a new message: as usual, but for spam only destination managers (and the
    chat visitor) — except when it just went to spam, so that open inboxes drop it."""
    if not conversation.spam or any(line.kind == "spam" for line in lines):
        return audience
    return AudienceFields(
        conversation_id=audience["conversation_id"],
        office_id=0,
        assignee_id=None,
        visitor_key=audience["visitor_key"],
    )
