"""The inbox's counts per tab, and ``attention``: what needs *this* adviser now.

``attention`` is their open conversations with unread visitor messages, plus the queued
conversations of their office that started waiting during the office's current duty (own hours
or shared-duty turn, as the rota computes it), or since its last duty ended when it is off duty —
never months-old backlog.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.models import Conversation, ConversationStatus, Office, Role, User
from app.services import Services
from rota import Schedule

LOOKBACK = timedelta(days=7)  # how far back the rota is read for the last duty
NO_ROTA_WINDOW = timedelta(hours=24)  # without a rota every office always answers
TABS = ("mine", "queued", "open", "resolved", "all")


def duty_since(schedule: Schedule | None, office_slug: str, now: datetime) -> datetime:
    """Start of the office's current duty (its own hours, or its shared-duty turn, joined when
    they touch); when off duty, the end of its last duty. Looks back at most ``LOOKBACK``."""
    if schedule is None:
        return now - NO_ROTA_WINDOW
    low = now - LOOKBACK
    spans: list[tuple[datetime, datetime]] = []
    if any(o.id == office_slug for o in schedule.rota.offices):
        closes = schedule.is_open(office_slug, low)
        if closes is not None:
            spans.append((low, closes))
        opening = schedule.next_opening(office_slug, low)
        while opening is not None and opening <= now:
            spans.append((opening, schedule.is_open(office_slug, opening) or opening))
            opening = schedule.next_opening(office_slug, opening)
    # One second past now tells a turn going on now from one that ended exactly now.
    spans.extend(
        (s.start, s.end)
        for s in schedule.segments(low, now + timedelta(seconds=1))
        if s.office == office_slug
    )
    since = low
    for start, end in _joined(spans):
        if start <= now < end:
            return start
        if end <= now:
            since = max(since, end)
    return since


def _joined(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    joined: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


async def attention_offices(
    services: Services, session: AsyncSession, user: User
) -> dict[int, datetime]:
    """The offices whose queue is this user's to watch (an adviser's own office; a destination
    manager's every office), each with the start of its current duty."""
    query = select(Office).where(Office.destination_id == user.destination_id)
    if user.role != Role.DESTINATION_MANAGER:
        if user.office_id is None:
            return {}
        query = query.where(Office.id == user.office_id)
    offices = (await session.exec(query)).all()
    compiled = await services.router.schedule(session, user.destination_id)
    now = services.clock.now()
    return {o.id: duty_since(compiled.schedule, o.slug, now) for o in offices if o.id is not None}


async def counts(services: Services, user: User) -> dict[str, int]:
    """How many conversations each tab holds for ``user``, and how many need them now."""
    is_open = col(Conversation.status) == ConversationStatus.OPEN
    unassigned = col(Conversation.assignee_id).is_(None)
    async with services.db.session() as session:
        since = await attention_offices(services, session, user)
        fresh_queue: ColumnElement[bool] = or_(
            false(),
            *(
                and_(
                    col(Conversation.office_id) == office_id,
                    col(Conversation.waiting_since) >= start,
                )
                for office_id, start in since.items()
            ),
        )
        mine = and_(is_open, col(Conversation.assignee_id) == user.id)
        wanted = {
            "mine": mine,
            "queued": and_(is_open, unassigned),
            "open": is_open,
            "resolved": col(Conversation.status) == ConversationStatus.RESOLVED,
            "attention": or_(
                and_(mine, col(Conversation.unread) > 0), and_(is_open, unassigned, fresh_queue)
            ),
        }
        columns = [func.count(), *(func.sum(case((cond, 1), else_=0)) for cond in wanted.values())]
        # Spam is counted nowhere (the managers' Spam view lists it).
        not_spam = col(Conversation.spam).is_(False)
        query = select(*columns).where(repository.visible_filter(user), not_spam)
        row = (await session.exec(query)).one()
    total, *figures = row
    result = {"all": int(total or 0)}
    result.update({name: int(n or 0) for name, n in zip(wanted, figures, strict=True)})
    return {key: result[key] for key in (*TABS, "attention")}
