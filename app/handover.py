"""Hand-over: when the duty passes to another office, the conversations still waiting in a queue
follow it. Conversations an adviser has taken stay with that adviser until resolved.

The rule, run every sweep for each destination: a queued conversation (open, unassigned) is
moved only when the duty has changed hands since the rota's choice recorded with it
(``Conversation.routed_office_id``: written when it was routed, handed over, transferred or
answered) — that office is no longer among the offices on duty for its account now — and its
own office is not on duty either. So:

- an adviser's transfer stands, even to an office with nobody online, until that office answers
  it, someone transfers it again, or the duty it was transferred under ends;
- a conversation answered by an office stays with it (once unassigned, still open) until the
  duty in place when it was answered ends, as Zendesk or Front keep a ticket with the group
  that answered it;
- offices on duty together share the load: a conversation at one of them is never shuffled to
  another while both are on duty; one moved goes to the office on duty with the fewest queued
  conversations (ties: the lead, then the rota's order), as new conversations do (app.routing);
- while nobody is on duty nothing moves: the conversations wait where the rota said someone
  would answer next.

Why a column rather than the latest ``RoutingDecision`` row: the sweep reads every queued
conversation of the destination each time; the recorded choice comes with the row it already
reads, where the audit trail would need a "latest row of a kind per conversation" query each
sweep, growing with the history (and a transfer's row names its target, not the rota's choice).
A conversation recorded before the column existed counts its own office as the choice.
"""

from __future__ import annotations

import logging

from sqlmodel import col, select

from app import activity, keys, repository
from app.assignment import assign_waiting
from app.events import ConversationChanged, ConversationLeft
from app.models import Account, Activity, Conversation, ConversationStatus, RoutingDecision
from app.routing import SHARED, RouteDecision, share
from app.services import Services

log = logging.getLogger(__name__)


async def hand_over(services: Services, destination_id: int) -> list[int]:
    """Moves queued conversations whose duty has changed hands; returns the moved ids."""
    lock = services.redis.lock(keys.handover_lock(destination_id), timeout=30, blocking_timeout=0)
    if not await lock.acquire():
        return []  # another worker is doing it
    try:
        return await _hand_over(services, destination_id)
    finally:
        await lock.release()


def stays(conversation: Conversation, decision: RouteDecision) -> bool:
    """Whether a queued conversation stays where it is under ``decision`` (the rota now)."""
    if not decision.on_duty:  # nobody on duty: nobody to hand it to
        return True
    recorded = conversation.routed_office_id or conversation.office_id
    return recorded in decision.on_duty or conversation.office_id in decision.on_duty


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
        # The load of each office, as app.routing.open_loads counts it, kept as moves are made.
        loads: dict[int, int] = {}
        for conversation in queued:
            if not conversation.spam:
                loads[conversation.office_id] = loads.get(conversation.office_id, 0) + 1
        accounts: dict[int, Account] = {}
        decisions: dict[int, RouteDecision] = {}  # by account: the rota's answer now
        changed = False
        for conversation in sorted(queued, key=lambda c: (c.created_at, c.id or 0)):
            account = accounts.get(conversation.account_id) or await session.get(
                Account, conversation.account_id
            )
            assert account is not None
            accounts[conversation.account_id] = account
            decision = decisions.get(conversation.account_id)
            if decision is None:
                decision = await services.router.lead(session, account, now)
                decisions[conversation.account_id] = decision
            if stays(conversation, decision):
                if decision.on_duty and conversation.routed_office_id not in decision.on_duty:
                    # Its own office took the duty: the rota's choice is now that office.
                    conversation.routed_office_id = conversation.office_id
                    session.add(conversation)
                    changed = True
                continue
            previous = conversation.office_id
            office_id = share(decision.on_duty, loads)
            if not conversation.spam:
                loads[previous] -= 1
                loads[office_id] = loads.get(office_id, 0) + 1
            detail = decision.reason + (f":{SHARED}" if len(decision.on_duty) > 1 else "")
            conversation.office_id = office_id
            conversation.routed_office_id = office_id
            session.add(conversation)
            session.add(
                RoutingDecision(
                    conversation_id=conversation.id or 0,
                    office_id=office_id,
                    reason="handover",
                    detail=detail,
                    at=now,
                )
            )
            lines.append(
                activity.add(
                    session,
                    conversation.id or 0,
                    "handover",
                    now,
                    office_id=office_id,
                    from_office_id=previous,
                    detail=detail,
                )
            )
            moved.append((conversation, account, previous))
        if not moved:
            if changed:
                await session.commit()
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
