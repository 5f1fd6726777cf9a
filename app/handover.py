"""Hand-over: when the duty passes to another office, the conversations still waiting in a queue
follow it. Conversations an adviser has taken stay with that adviser until resolved."""

from __future__ import annotations

import logging

from sqlmodel import col, select

from app import activity, keys, repository
from app.assignment import assign_waiting
from app.events import ConversationChanged, ConversationLeft
from app.models import Account, Activity, Conversation, ConversationStatus, RoutingDecision
from app.services import Services

log = logging.getLogger(__name__)


async def hand_over(services: Services, destination_id: int) -> list[int]:
    """Moves queued conversations to whoever answers now; returns the moved ids."""
    lock = services.redis.lock(keys.handover_lock(destination_id), timeout=30, blocking_timeout=0)
    if not await lock.acquire():
        return []  # another worker is doing it
    try:
        return await _hand_over(services, destination_id)
    finally:
        await lock.release()


async def _hand_over(services: Services, destination_id: int) -> list[int]:
    now = services.clock.now()
    moved: list[tuple[Conversation, Account, int]] = []
    lines: list[Activity] = []
    async with services.db.session() as session:
        queued = (
            await session.exec(
                select(Conversation).where(
                    Conversation.destination_id == destination_id,
                    Conversation.status == ConversationStatus.OPEN,
                    col(Conversation.assignee_id).is_(None),
                )
            )
        ).all()
        accounts: dict[int, Account] = {}
        for conversation in queued:
            account = accounts.get(conversation.account_id) or await session.get(
                Account, conversation.account_id
            )
            assert account is not None
            accounts[conversation.account_id] = account
            decision = await services.router.decide(session, account, now)
            if decision.reason == "nobody_on_duty" or decision.office_id == conversation.office_id:
                continue
            previous = conversation.office_id
            conversation.office_id = decision.office_id
            session.add(conversation)
            session.add(
                RoutingDecision(
                    conversation_id=conversation.id or 0,
                    office_id=decision.office_id,
                    reason="handover",
                    detail=decision.reason,
                    at=now,
                )
            )
            lines.append(
                activity.add(
                    session,
                    conversation.id or 0,
                    "handover",
                    now,
                    office_id=decision.office_id,
                    from_office_id=previous,
                    detail=decision.reason,
                )
            )
            moved.append((conversation, account, previous))
        if not moved:
            return []
        await session.commit()
        views = await repository.conversations_out(session, [c for c, _, _ in moved])
    offices = set()
    for (conversation, account, previous), view, line in zip(moved, views, lines, strict=True):
        audience = repository.audience(conversation, account)
        if previous != conversation.office_id:  # the office it left may no longer read it
            await services.hub.publish(
                destination_id,
                ConversationLeft(conversation_id=audience["conversation_id"], office_id=previous),
            )
        await services.hub.publish(
            destination_id, ConversationChanged(**audience, conversation=view)
        )
        await activity.publish(services, conversation, account, [line])
        offices.add(conversation.office_id)
    for office_id in offices:
        await assign_waiting(services, destination_id, office_id)
    log.info("handed over %s conversations", len(moved))
    return [c.id for c, _, _ in moved if c.id is not None]
