"""Where a waiting chat visitor stands: their place in the office queue and a rough wait.

The place follows the order assignment serves the queue in (:func:`app.assignment.queue_order`:
live chats first, then the longest-waiting visitor). The wait is the median time the office
took to answer a chat first over the last days, counted in duty time only, since it is told
while someone is on duty; when nobody is, the widget already says when someone will be.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import bindparam
from sqlalchemy import select as select_core
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import visitor_presence
from app.assignment import Queued, queue_order
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
    """Every queued conversation of the office → its place, in assignment order (the columns
    the order reads, not whole conversations: a queue may be hundreds long)."""
    params = {"office_id": office_id, "open": ConversationStatus.OPEN}
    rows = (await (await session.connection()).execute(_QUEUED, params)).all()
    queue = cast(list[Queued], rows)
    live = await visitor_presence.live_members(services, destination_id)
    order = sorted(queue, key=queue_order(live))
    return {c.id: n for n, c in enumerate(order, start=1) if c.id is not None}


_QUEUED = select_core(
    col(Conversation.id),
    col(Conversation.account_id),
    col(Conversation.thread_key),
    col(Conversation.priority),
    col(Conversation.waiting_since),
    col(Conversation.created_at),
).where(
    col(Conversation.office_id) == bindparam("office_id"),
    col(Conversation.status) == bindparam("open"),
    col(Conversation.assignee_id).is_(None),
)


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
    otherwise. ``fresh`` asks for reads begun after the call (a visitor's first look at a
    queue is exact), as does a conversation missing from the board (queued since its read).

    Reads of one office are made one at a time, and one read serves every visitor who asked
    before it began: a crowd of new visitors arriving together costs a read or two, not one
    each (each read is the whole queue's)."""
    asked = time.monotonic()
    after = asked if fresh else asked - BOARD_SECONDS
    wait_after = asked if fresh else asked - ESTIMATE_SECONDS
    positions, estimate = await _boards(services, account, office_id, after, wait_after)
    if conversation_id not in positions and after < asked:
        positions, estimate = await _boards(services, account, office_id, asked, wait_after)
    position = positions.get(conversation_id, 0)
    return Standing(position, estimate) if position else NOT_WAITING


async def _boards(
    services: Services, account: Account, office_id: int, after: float, wait_after: float
) -> tuple[dict[int, int], int | None]:
    """The office's queue order read at or after ``after`` and its rough wait read at or after
    ``wait_after`` (``time.monotonic()`` instants), from this worker's boards or read now."""
    boards = services.queue_boards
    key, wait_key = ("queue", office_id), ("wait", office_id)

    def current() -> tuple[dict[int, int], int | None] | None:
        board, wait = boards.get(key), boards.get(wait_key)
        if board is None or wait is None or board[0] < after or wait[0] < wait_after:
            return None
        return board[1], wait[1]

    if (found := current()) is not None:
        return found
    async with services.local_locks.setdefault(f"queue-board:{office_id}", asyncio.Lock()):
        if (found := current()) is not None:  # read by the one before, begun after the ask
            return found
        began = time.monotonic()
        async with services.db.session() as session:
            board = boards.get(key)
            if board is None or board[0] < after:
                positions = await _positions(services, session, account.destination_id, office_id)
                boards[key] = (began, positions)
            wait = boards.get(wait_key)
            if wait is None or wait[0] < wait_after:
                estimate = await _estimate(services, session, account, office_id)
                boards[wait_key] = (began, estimate)
    return boards[key][1], boards[wait_key][1]


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
