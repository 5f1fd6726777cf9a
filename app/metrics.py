"""Response times, recorded as they happen.

A turn opens when a visitor writes to a conversation nobody is waiting to answer, and closes at
the next reply written by a human adviser (automatic replies and internal notes never close one).
Both the wall-clock time and the on-duty time (only the minutes when the rota had an office on
duty for that account) are stored at closing, so later rota edits never rewrite history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Conversation, Destination, ResponseTurn, User
from app.rollups import day_changed
from app.routing import CompiledRota, Router
from rota import Schedule

# The rota's answer for a later turn (compiled once per worker, like the app's own router).
_router = Router()


def hour_of_week(at: datetime, timezone: str) -> int:
    local = at.astimezone(ZoneInfo(timezone))
    return local.weekday() * 24 + local.hour


def local_day(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).date().isoformat()


def duty_seconds(
    schedule: Schedule | None,
    account: str,
    start: datetime,
    end: datetime,
    office: str | None = None,
) -> float:
    """Seconds between two instants when someone was on duty for ``account`` (``office``: its
    office's slug, its owner when the rota does not name it)."""
    if schedule is None:
        return (end - start).total_seconds()
    total = timedelta(0)
    at = start
    while at < end:
        answer = schedule.route(account, at, office)
        until = min(answer.valid_until, end)
        if answer.office is not None:
            total += until - at
        at = until
    return total.total_seconds()


# Built once (see app.repository): a visitor's message and an adviser's reply run them.
_ANY_TURN = select(ResponseTurn.id).where(ResponseTurn.conversation_id == bindparam("c")).limit(1)
_OPEN_TURN = (
    select(ResponseTurn)
    .where(ResponseTurn.conversation_id == bindparam("c"), col(ResponseTurn.answered_at).is_(None))
    .order_by(col(ResponseTurn.id).desc())
)


async def open_turn(
    session: AsyncSession,
    conversation: Conversation,
    destination: Destination,
    at: datetime,
    first: bool,
) -> None:
    """Records a visitor turn opening at ``at``.

    ``first`` says the conversation was routed just now (opened, or reopened and routed again):
    the office on duty is then the one it was routed to. Otherwise the rota says who was on duty
    at ``at`` (the office it would route a new conversation to, the next one when nobody is), not
    where the conversation sits now. The turn is the conversation's first turn only if it has no
    turn yet: a reopened conversation opens a later turn, never a new conversation."""
    account = await session.get(Account, conversation.account_id)
    if first or account is None:
        office_id = conversation.office_id
    else:
        office_id = (await _router.decide(session, account, at)).office_id
    earlier = None
    if conversation.id is not None:
        earlier = (await session.exec(_ANY_TURN, params={"c": conversation.id})).first()
    day = local_day(at, destination.timezone)
    session.add(
        ResponseTurn(
            conversation_id=conversation.id or 0,
            account_id=conversation.account_id,
            channel=conversation.channel,
            office_on_duty_id=office_id,
            first=earlier is None,
            started_at=at,
            hour_of_week=hour_of_week(at, destination.timezone),
            local_day=day,
        )
    )
    await day_changed(session, conversation.destination_id, day)


async def close_turn(
    session: AsyncSession,
    conversation: Conversation,
    account: Account,
    responder: User,
    at: datetime,
    rota: CompiledRota,
) -> ResponseTurn | None:
    turn = (await session.exec(_OPEN_TURN, params={"c": conversation.id})).first()
    if turn is None:
        return None
    turn.answered_at = at
    turn.responder_id = responder.id
    turn.responder_office_id = responder.office_id
    turn.wall_seconds = max(0.0, (at - turn.started_at).total_seconds())
    turn.duty_seconds = (
        duty_seconds(rota.schedule, account.key, turn.started_at, at, rota.office_of(account))
        if at > turn.started_at
        else 0.0
    )
    session.add(turn)
    await day_changed(session, conversation.destination_id, turn.local_day)
    return turn
