"""Where a waiting chat visitor stands: their place in the office queue and a rough wait.

The place follows the order assignment serves the queue in (:func:`app.assignment.queue_order`:
live chats first, then the longest-waiting visitor). The wait is the median time the office
took to answer a chat first over the last days, counted in duty time only, since it is told
while someone is on duty; when nobody is, the widget already says when someone will be.
"""

from __future__ import annotations

import statistics
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


async def standing(
    services: Services,
    session: AsyncSession,
    account: Account,
    conversation: Conversation | None,
) -> Standing:
    """The standing of the visitor of ``conversation`` (of chat ``account``)."""
    if (
        conversation is None
        or conversation.status != ConversationStatus.OPEN
        or conversation.assignee_id is not None
    ):
        return NOT_WAITING
    queue = (
        await session.exec(
            select(Conversation).where(
                Conversation.office_id == conversation.office_id,
                Conversation.status == ConversationStatus.OPEN,
                col(Conversation.assignee_id).is_(None),
            )
        )
    ).all()
    live = await visitor_presence.live_members(services, account.destination_id)
    order = sorted(queue, key=queue_order(live))
    # 0 when it was assigned between the two reads (a database without snapshot reads).
    position = next((n for n, c in enumerate(order, start=1) if c.id == conversation.id), 0)
    if position == 0:
        return NOT_WAITING
    now = services.clock.now()
    decision = await services.router.decide(session, account, now)
    if decision.reason == "nobody_on_duty":
        return Standing(position)
    return Standing(position, await typical_wait(services, session, conversation.office_id))


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
