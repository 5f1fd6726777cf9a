"""Inside an office: who answers a conversation.

A waiting conversation goes to the online adviser with the fewest open conversations, under the
office's per-adviser cap; advisers who set themselves away get nothing new. When everyone is at
the cap it waits in the office queue and is assigned as soon as someone has room. The queue is
served live chats first (a visitor whose widget is open now), then by how long the visitor has
waited, so months-old backlog never goes ahead of someone writing now. Several workers may run
this at once: a short Redis lock per office makes each pass exclusive, so caps hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from redis.exceptions import LockError
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, keys, presence, repository, visitor_presence
from app.events import ConversationChanged
from app.models import (
    Account,
    Activity,
    Conversation,
    ConversationStatus,
    Office,
    Role,
    RoutingDecision,
    User,
)
from app.services import Services

log = logging.getLogger(__name__)


class Queued(Protocol):
    """What the queue's order reads of a conversation (a row of these columns will do)."""

    id: int | None
    account_id: int
    thread_key: str
    priority: bool
    waiting_since: datetime | None
    created_at: datetime


def queue_order(live: set[str]) -> Callable[[Queued], tuple[Any, ...]]:
    """Sort key of an office queue: priority conversations (raised by a keyword rule,
    app.rules) first, then live chats, then the longest-waiting visitor, then the oldest
    conversation (one nobody waits on, ``waiting_since`` unset, goes last)."""

    def key(conversation: Queued) -> tuple[Any, ...]:
        waiting = conversation.waiting_since
        return (
            not conversation.priority,
            visitor_presence.member(conversation.account_id, conversation.thread_key) not in live,
            waiting is None,
            waiting or conversation.created_at,
            conversation.created_at,
            conversation.id or 0,
        )

    return key


async def open_counts(session: AsyncSession, adviser_ids: set[int]) -> dict[int, int]:
    if not adviser_ids:
        return {}
    rows = (
        await session.exec(
            select(Conversation.assignee_id, func.count())
            .where(
                col(Conversation.assignee_id).in_(adviser_ids),
                Conversation.status == ConversationStatus.OPEN,
            )
            .group_by(col(Conversation.assignee_id))
        )
    ).all()
    counts = {adviser_id: 0 for adviser_id in adviser_ids}
    counts.update({int(a): int(n) for a, n in rows if a is not None})
    return counts


async def assign_waiting(services: Services, destination_id: int, office_id: int) -> list[int]:
    """Assigns the office's queued conversations while advisers have room; returns the ids this
    call's pass assigned.

    Passes of one worker queue up on an in-process lock (no polling); the Redis lock then only
    has to separate workers. Asks are coalesced: when a pass begins, it covers every ask made
    before it, so however many messages arrive during a pass, one more pass follows, not one
    each. Every caller still returns only once a pass begun after its ask has ended."""
    key = f"assign:{office_id}"
    asked = services.passes_asked[key] = services.passes_asked.get(key, 0) + 1
    async with services.local_locks.setdefault(key, asyncio.Lock()):
        if services.passes_begun.get(key, 0) >= asked:
            return []  # a pass that began after this ask has just run
        services.passes_begun[key] = services.passes_asked[key]
        return await _assign_exclusively(services, destination_id, office_id)


async def _assign_exclusively(services: Services, destination_id: int, office_id: int) -> list[int]:
    now = services.clock.now()
    # Nobody of the destination can take a conversation (an evening with nobody on duty): no
    # lock, no pass. Whoever comes online or back from away runs a pass of their own.
    online = await presence.available(services, destination_id, now)
    if not online:
        return []
    # Nobody of the office online with room (everyone at the cap, as in a busy evening: a pass
    # asked by each new conversation): no lock either. Read outside the lock, this is safe: a
    # slot is only freed by a commit (a resolution, a transfer…) whose own pass follows it, and
    # reads the queue after it; whichever of the two commits last sees the other's row.
    async with services.db.session() as session:
        room = await _room(session, office_id, online)
    if room is None:
        return []
    lock = services.redis.lock(
        keys.assign_lock(destination_id, office_id), timeout=10, blocking_timeout=5
    )
    if not await lock.acquire():
        log.warning("assignment lock for office %s busy; the next pass will assign", office_id)
        return []
    try:
        return await _assign_pass(services, destination_id, office_id, room, now)
    finally:
        try:
            await lock.release()
        except LockError:
            # The pass outlived its lock (an overloaded worker): what it assigned is committed
            # and the lock has lapsed; the caller (a visitor's message, stored) must go on.
            log.warning("assignment lock for office %s lapsed during the pass", office_id)


@dataclass(frozen=True, slots=True)
class _Room:
    """An office's online staff, and its cap, when one of them has room."""

    cap: int
    staff: frozenset[int]


async def _room(session: AsyncSession, office_id: int, online: set[int]) -> _Room | None:
    office = await session.get(Office, office_id)
    if office is None:
        return None
    staff = (
        await session.exec(
            select(User.id).where(
                User.office_id == office_id,
                User.active == True,  # noqa: E712
                col(User.role).in_([Role.ADVISER, Role.OFFICE_MANAGER]),
                col(User.id).in_(online),
            )
        )
    ).all()
    ids = frozenset(i for i in staff if i is not None)
    counts = await open_counts(session, set(ids))
    if min(counts.values(), default=office.adviser_cap) >= office.adviser_cap:
        return None
    return _Room(office.adviser_cap, ids)


async def _assign_pass(
    services: Services, destination_id: int, office_id: int, room: _Room, now: datetime
) -> list[int]:
    assigned: list[tuple[Conversation, Account, Activity]] = []
    async with services.db.session() as session:
        # Counted again under the lock: a pass of another worker may have filled the room.
        counts = await open_counts(session, set(room.staff))
        if min(counts.values(), default=room.cap) >= room.cap:
            # Everyone online is at the cap: nothing to assign, and the queue (all of the
            # office's waiting conversations, read on each message while it waits) stays unread.
            return []
        queue = (
            await session.exec(
                select(Conversation).where(
                    Conversation.office_id == office_id,
                    Conversation.status == ConversationStatus.OPEN,
                    col(Conversation.assignee_id).is_(None),
                )
            )
        ).all()
        live = await visitor_presence.live_members(services, destination_id) if queue else set()
        for conversation in sorted(queue, key=queue_order(live)):
            adviser_id = min(counts, key=lambda a: (counts[a], a))
            if counts[adviser_id] >= room.cap:
                break
            counts[adviser_id] += 1
            conversation.assignee_id = adviser_id
            session.add(conversation)
            session.add(
                RoutingDecision(
                    conversation_id=conversation.id or 0,
                    office_id=office_id,
                    adviser_id=adviser_id,
                    reason="assigned",
                    at=now,
                )
            )
            line = activity.add(
                session,
                conversation.id or 0,
                "assigned",
                now,
                user_id=adviser_id,
                office_id=office_id,
            )
            account = await session.get(Account, conversation.account_id)
            assert account is not None
            assigned.append((conversation, account, line))
        if not assigned:
            return []
        await session.commit()
        views = await repository.conversations_out(session, [c for c, _, _ in assigned])
    for (conversation, account, line), view in zip(assigned, views, strict=True):
        await services.hub.publish(
            account.destination_id,
            ConversationChanged(**repository.audience(conversation, account), conversation=view),
        )
        await activity.publish(services, conversation, account, [line])
    return [c.id for c, _, _ in assigned if c.id is not None]
