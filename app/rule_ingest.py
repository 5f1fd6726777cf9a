"""Keyword rules at ingest (app.inbox): in the message's own transaction, before assignment.

Every matching active rule adds its label and raises the priority; the first matching active
rule (in the managers' order) that routes decides where the conversation goes — only when the
message opens or reopens it, so a conversation an adviser is answering is never taken away.

A rule naming an adviser assigns the conversation to them if their account is active, even
when they are away or at their office's cap (a manager chose them by name, as when a colleague
assigns it); if their account was disabled since, it waits in their office's queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity
from app.db import plain_rows
from app.models import Activity, Conversation, ConversationLabel, Label, RoutingDecision, Rule, User
from app.rule_match import Prepared, compile_stored, matches
from app.textnorm import fold


@dataclass(frozen=True, slots=True)
class Routed:
    """Where a rule sent the conversation."""

    rule: str  # the rule's name
    office_id: int
    adviser_id: int | None


_ACTIVE = (  # built once: every visitor message reads them
    select(Rule)
    .where(Rule.destination_id == bindparam("d"), col(Rule.active).is_(True))
    .order_by(col(Rule.position), col(Rule.id))
)


async def apply(
    session: AsyncSession,
    conversation: Conversation,
    subject: str,
    text: str,
    at: datetime,
    *,
    route: bool,
) -> tuple[Routed | None, list[Activity]]:
    """Applies the destination's active rules to one visitor message; returns where a rule
    routed it (None: nowhere) and the activity lines to publish after the commit."""
    # Read past the ORM (every visitor message reads them): rows with the rule's columns.
    rules: Sequence[Any] = await plain_rows(session, _ACTIVE, {"d": conversation.destination_id})
    if not rules:
        return None, []
    prepared = Prepared(fold(f"{subject}\n{text}" if subject else text))
    matched = [r for r in rules if matches(compile_stored(r.words), prepared)]
    if not matched:
        return None, []
    await session.exec(
        update(Rule)
        .where(col(Rule.id).in_([r.id for r in matched]))
        .values(matched=col(Rule.matched) + 1)
    )
    await _label(session, conversation, matched, at)
    if any(r.priority for r in matched):
        conversation.priority = True
    if not route:
        return None, []
    for rule in matched:
        routed = await _route(session, conversation, rule, at)
        if routed is not None:
            lines = [
                activity.add(
                    session,
                    conversation.id or 0,
                    "rule",
                    at,
                    user_id=routed.adviser_id,
                    office_id=routed.office_id,
                    detail=routed.rule,
                )
            ]
            return routed, lines
    return None, []


async def _label(
    session: AsyncSession, conversation: Conversation, matched: list[Rule], at: datetime
) -> None:
    wanted: dict[int, int] = {}  # label → the first rule that put it
    for rule in matched:
        if rule.label_id is not None:
            wanted.setdefault(rule.label_id, rule.id or 0)
    if not wanted:
        return
    existing = set(
        (
            await session.exec(
                select(Label.id).where(
                    col(Label.id).in_(wanted), Label.destination_id == conversation.destination_id
                )
            )
        ).all()
    )
    present = set(
        (
            await session.exec(
                select(ConversationLabel.label_id).where(
                    ConversationLabel.conversation_id == conversation.id
                )
            )
        ).all()
    )
    for label_id, rule_id in wanted.items():
        if label_id in existing and label_id not in present:
            session.add(
                ConversationLabel(
                    conversation_id=conversation.id or 0,
                    label_id=label_id,
                    rule_id=rule_id,
                    added_at=at,
                )
            )


async def _route(
    session: AsyncSession, conversation: Conversation, rule: Rule, at: datetime
) -> Routed | None:
    adviser = await session.get(User, rule.adviser_id) if rule.adviser_id is not None else None
    office_id = rule.office_id
    if office_id is None:
        if adviser is None or adviser.office_id is None:
            return None  # the adviser was removed: this rule no longer routes
        office_id = adviser.office_id
    assignee = None
    if (
        adviser is not None
        and adviser.active
        and adviser.destination_id == conversation.destination_id
        and adviser.office_id == office_id
    ):
        assignee = adviser.id
    conversation.office_id = office_id
    conversation.assignee_id = assignee
    session.add(
        RoutingDecision(
            conversation_id=conversation.id or 0,
            office_id=office_id,
            adviser_id=assignee,
            reason="rule",
            detail=rule.name,
            at=at,
        )
    )
    return Routed(rule.name, office_id, assignee)
