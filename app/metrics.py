"""Response times, recorded as they happen.

A turn opens when a visitor writes to a conversation nobody is waiting to answer, and closes at
the next reply written by a human adviser (automatic replies and internal notes never close one).
Both the wall-clock time and the on-duty time (only the minutes when the rota had an office on
duty for that account) are stored at closing, so later rota edits never rewrite history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as select_core
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
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


# Built once (see app.repository): a visitor's message and an adviser's reply run them, past
# the ORM (a turn is written once and updated once, by these functions alone: no object needed).
_ANY_TURN = (
    select_core(col(ResponseTurn.id))
    .where(col(ResponseTurn.conversation_id) == bindparam("c"))
    .limit(1)
)
_OPEN_TURN = (
    select_core(col(ResponseTurn.id), col(ResponseTurn.started_at), col(ResponseTurn.local_day))
    .where(
        col(ResponseTurn.conversation_id) == bindparam("c"), col(ResponseTurn.answered_at).is_(None)
    )
    .order_by(col(ResponseTurn.id).desc())
    .limit(1)
)
_ADD_TURN = insert(ResponseTurn)
_CLOSE_TURN = update(ResponseTurn).where(col(ResponseTurn.id) == bindparam("turn"))


async def open_turn(
    session: AsyncSession,
    conversation: Conversation,
    destination: Destination,
    at: datetime,
    first: bool,
    *,
    new: bool = False,
) -> None:
    """Records a visitor turn opening at ``at``.

    ``first`` says the conversation was routed just now (opened, or reopened and routed again):
    the office on duty is then the one it was routed to. Otherwise the rota says who was on duty
    at ``at`` (the office it would route a new conversation to, the next one when nobody is), not
    where the conversation sits now. The turn is the conversation's first turn only if it has no
    turn yet: a reopened conversation opens a later turn, never a new conversation. ``new``
    says the conversation was made in this unit of work: it has no turn, none is read."""
    account = await session.get(Account, conversation.account_id)
    if first or account is None:
        office_id = conversation.office_id
    else:
        office_id = (await _router.decide(session, account, at)).office_id
    assert conversation.id is not None  # flushed: the turn points at it
    earlier = [] if new else await db.plain_rows(session, _ANY_TURN, {"c": conversation.id})
    day = local_day(at, destination.timezone)
    await db.plain_write(
        session,
        _ADD_TURN,
        {
            "conversation_id": conversation.id,
            "account_id": conversation.account_id,
            "channel": conversation.channel,
            "office_on_duty_id": office_id,
            "first": not earlier,
            "started_at": at,
            "hour_of_week": hour_of_week(at, destination.timezone),
            "local_day": day,
        },
    )
    await day_changed(session, conversation.destination_id, day)


async def close_turn(
    session: AsyncSession,
    conversation: Conversation,
    account: Account,
    responder: User,
    at: datetime,
    rota: CompiledRota,
) -> bool:
    """Closes the conversation's open turn, answered at ``at`` by ``responder``; False when
    none is open (nobody was waiting)."""
    found = await db.plain_rows(session, _OPEN_TURN, {"c": conversation.id})
    if not found:
        return False
    turn_id, started_at, day = found[0]
    await db.plain_write(
        session,
        _CLOSE_TURN,
        {
            "turn": turn_id,
            "answered_at": at,
            "responder_id": responder.id,
            "responder_office_id": responder.office_id,
            "wall_seconds": max(0.0, (at - started_at).total_seconds()),
            "duty_seconds": (
                duty_seconds(rota.schedule, account.key, started_at, at, rota.office_of(account))
                if at > started_at
                else 0.0
            ),
        },
    )
    await day_changed(session, conversation.destination_id, day)
    return True
