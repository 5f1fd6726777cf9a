"""Where a waiting chat visitor stands: their place in the office queue and a rough wait.

The place follows the order assignment serves the queue in (:func:`app.assignment.queue_order`:
live chats first, then the longest-waiting visitor). The wait is the median time the office
took to answer a chat first over the last days, counted in duty time only, since it is told
while someone is on duty; when nobody is, the widget already says when someone will be.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import visitor_presence
from app.assignment import queue_order
from app.models import Account, Conversation, ConversationStatus, ResponseTurn
from app.services import Services

FIGURES_WINDOW = timedelta(days=7)
FIGURES_KEPT = 500  # the most recent first answers are plenty for a median
ESTIMATE_MIN = 60  # seconds: "about a minute" is as precise as a promise should get
ESTIMATE_MAX = 2 * 3600  # past this the figure says more about old backlog than about now


@dataclass(frozen=True, slots=True)
class Standing:
    """``position`` 1 is next; 0 means not waiting (no conversation, assigned or resolved)."""

    position: int
    estimate_seconds: int | None = None

    def frame(self) -> dict[str, Any]:
        return {
            "type": "queue",
            "position": self.position,
            "estimate_seconds": self.estimate_seconds,
        }


NOT_WAITING = Standing(0)


async def conversation_of(
    session: AsyncSession, account: Account, thread_key: str
) -> Conversation | None:
    """The conversation of the chat visitor ``thread_key`` (one visitor, one conversation)."""
    return (
        await session.exec(
            select(Conversation).where(
                Conversation.account_id == account.id, Conversation.thread_key == thread_key
            )
        )
    ).first()


def _waiting(conversation: Conversation | None) -> bool:
    return (
        conversation is not None
        and conversation.status == ConversationStatus.OPEN
        and conversation.assignee_id is None
    )


async def _positions(
    services: Services, session: AsyncSession, destination_id: int, office_id: int
) -> dict[int, int]:
    """Every queued conversation of the office → its place, in assignment order."""
    queue = (
        await session.exec(
            select(Conversation).where(
                Conversation.office_id == office_id,
                Conversation.status == ConversationStatus.OPEN,
                col(Conversation.assignee_id).is_(None),
            )
        )
    ).all()
    live = await visitor_presence.live_members(services, destination_id)
    order = sorted(queue, key=queue_order(live))
    return {c.id: n for n, c in enumerate(order, start=1) if c.id is not None}


async def _estimate(
    services: Services, session: AsyncSession, account: Account, office_id: int
) -> int | None:
    """The rough wait to tell, or None when nobody is on duty (the widget says when)."""
    decision = await services.router.decide(session, account, services.clock.now())
    if decision.reason == "nobody_on_duty":
        return None
    return await typical_wait(services, session, office_id)


async def standing(
    services: Services,
    session: AsyncSession,
    account: Account,
    conversation: Conversation | None,
) -> Standing:
    """The standing of the visitor of ``conversation`` (of chat ``account``), read now."""
    if conversation is None or not _waiting(conversation):
        return NOT_WAITING
    positions = await _positions(services, session, account.destination_id, conversation.office_id)
    # 0 when it was assigned between the two reads (a database without snapshot reads).
    position = positions.get(conversation.id or 0, 0)
    if position == 0:
        return NOT_WAITING
    return Standing(position, await _estimate(services, session, account, conversation.office_id))


BOARD_SECONDS = 2.0  # how long one read of an office's queue serves all its waiting visitors
ESTIMATE_SECONDS = 30.0  # the same for an account's rough wait (a median over days)


async def shared_standing(
    services: Services,
    account: Account,
    conversation_id: int,
    office_id: int,
    *,
    fresh: bool = False,
) -> Standing:
    """As :func:`standing` for a conversation known to be queued at ``office_id``, for the
    visitor sockets' refreshes: the office's queue order and the rough wait are read once for
    all its waiting visitors on this worker, then kept a moment, so a hundred waiting visitors
    cost one queue read every couple of seconds, and none of them holds a database connection
    otherwise. ``fresh`` reads both now (a visitor's first look at a queue is exact)."""
    boards = services.queue_boards
    now = time.monotonic()
    key = ("queue", office_id)
    wait_key = ("wait", office_id)
    board = boards.get(key)
    cached = boards.get(wait_key)
    stale_board = (
        fresh or board is None or now - board[0] > BOARD_SECONDS or conversation_id not in board[1]
    )
    stale_wait = fresh or cached is None or now - cached[0] > ESTIMATE_SECONDS
    if stale_board or stale_wait:
        async with services.db.session() as session:
            if stale_board:
                positions = await _positions(services, session, account.destination_id, office_id)
                board = boards[key] = (now, positions)
            if stale_wait:
                estimate = await _estimate(services, session, account, office_id)
                cached = boards[wait_key] = (now, estimate)
    assert board is not None and cached is not None
    position = board[1].get(conversation_id, 0)
    return Standing(position, cached[1]) if position else NOT_WAITING


async def typical_wait(services: Services, session: AsyncSession, office_id: int) -> int | None:
    """Median seconds of duty time the office took to answer a chat first, recently; None
    without figures."""
    since = services.clock.now() - FIGURES_WINDOW
    rows = (
        await session.exec(
            select(ResponseTurn.duty_seconds, ResponseTurn.wall_seconds)
            .where(
                ResponseTurn.office_on_duty_id == office_id,
                ResponseTurn.channel == "webchat",
                ResponseTurn.first == True,  # noqa: E712
                col(ResponseTurn.answered_at).is_not(None),
                col(ResponseTurn.started_at) >= since,
            )
            .order_by(col(ResponseTurn.started_at).desc())
            .limit(FIGURES_KEPT)
        )
    ).all()
    figures: list[float] = []
    for duty, wall in rows:
        figure = duty if duty is not None else wall
        if figure is not None:
            figures.append(figure)
    if not figures:
        return None
    return round(min(max(statistics.median(figures), ESTIMATE_MIN), ESTIMATE_MAX))
