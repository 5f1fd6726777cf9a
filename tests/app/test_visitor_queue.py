"""A waiting chat visitor's place in the office queue and their rough wait (real SQLite, Redis)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from app import visitor_presence, visitor_queue
from app.inbox import Inbox
from app.models import Account, Conversation, ResponseTurn
from app.services import Services
from connectors.webchat.frames import VisitorMessageFrame, to_inbound

# Tuesday 21 July 2026, 10:00 in Paris: Port-Argent answers its own chat.
NOW = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


async def chat_account(services: Services, key: str = "chat-port-argent") -> Account:
    async with services.db.session() as session:
        return (await session.exec(select(Account).where(Account.key == key))).one()


async def visitor_writes(services: Services, visitor: str, at: datetime) -> None:
    frame = VisitorMessageFrame(client_id=f"{visitor}-0001", text="Bonjour ?")
    inbound = to_inbound(frame, account="chat-port-argent", visitor_id=visitor, received_at=at)
    await Inbox(services).ingest(inbound)


async def standing_of(services: Services, visitor: str) -> visitor_queue.Standing:
    account = await chat_account(services)
    async with services.db.session() as session:
        conversation = await visitor_queue.conversation_of(session, account, visitor)
        return await visitor_queue.standing(services, session, account, conversation)


async def add_answers(services: Services, seconds: list[float | None], age: timedelta) -> None:
    """First answers of Port-Argent's chat, ``age`` ago; None: a wait with no duty figure."""
    account = await chat_account(services)
    async with services.db.session() as session:
        conversation = (await session.exec(select(Conversation))).first()
        assert conversation is not None and conversation.id is not None
        for n, wait in enumerate(seconds):
            started = NOW - age - timedelta(minutes=n)
            session.add(
                ResponseTurn(
                    conversation_id=conversation.id,
                    account_id=account.id or 0,
                    channel="webchat",
                    office_on_duty_id=account.office_id,
                    first=True,
                    started_at=started,
                    answered_at=started + timedelta(seconds=wait or 4000),
                    wall_seconds=wait or 4000,
                    duty_seconds=wait,
                )
            )
        await session.commit()


async def test_live_visitors_go_first_then_the_longest_waiting(services: Services) -> None:
    # Written 60 days ago, when it arrived (an arrival counts only a few days back).
    services.clock.set(NOW - timedelta(days=60), frozen=True)
    await visitor_writes(services, "old-backlog", NOW - timedelta(days=60))
    services.clock.set(NOW, frozen=True)
    await visitor_writes(services, "waited-longer", NOW - timedelta(minutes=9))
    await visitor_writes(services, "just-now", NOW - timedelta(minutes=1))
    assert [(await standing_of(services, v)).position for v in ("old-backlog", "just-now")] == [
        1,
        3,
    ]
    account = await chat_account(services)
    for visitor in ("waited-longer", "just-now"):
        await visitor_presence.touch(services, account.destination_id, account.id or 0, visitor)
    positions = {
        v: (await standing_of(services, v)).position
        for v in ("old-backlog", "waited-longer", "just-now")
    }
    assert positions == {"waited-longer": 1, "just-now": 2, "old-backlog": 3}
    # Someone else's office queue does not count; no conversation, no place.
    assert (await standing_of(services, "never-wrote")) == visitor_queue.NOT_WAITING


async def test_assigned_or_resolved_is_not_waiting(services: Services) -> None:
    services.clock.set(NOW, frozen=True)
    await visitor_writes(services, "ana", NOW - timedelta(minutes=2))
    await visitor_writes(services, "tom", NOW - timedelta(minutes=1))
    assert (await standing_of(services, "tom")).position == 2
    async with services.db.session() as session:
        ana = (
            await session.exec(select(Conversation).where(Conversation.thread_key == "ana"))
        ).one()
        ana.assignee_id = 1
        session.add(ana)
        await session.commit()
    assert (await standing_of(services, "ana")) == visitor_queue.NOT_WAITING
    assert (await standing_of(services, "tom")).position == 1


async def test_the_wait_is_the_recent_median_in_duty_time_within_bounds(
    services: Services,
) -> None:
    services.clock.set(NOW, frozen=True)
    await visitor_writes(services, "ana", NOW - timedelta(minutes=1))
    assert (await standing_of(services, "ana")) == visitor_queue.Standing(1, None)  # no figures
    # Older than a week: not recent figures.
    await add_answers(services, [10_000.0] * 5, timedelta(days=8))
    assert (await standing_of(services, "ana")).estimate_seconds is None
    # Duty time when known, else the wall time (4000 s here).
    await add_answers(services, [120.0, 300.0, 240.0, None], timedelta(hours=3))
    assert (await standing_of(services, "ana")) == visitor_queue.Standing(1, 270)
    account = await chat_account(services)
    async with services.db.session() as session:
        assert await visitor_queue.typical_wait(services, session, account.office_id) == 270


async def test_the_wait_is_bounded(services: Services) -> None:
    services.clock.set(NOW, frozen=True)
    await visitor_writes(services, "ana", NOW - timedelta(minutes=1))
    await add_answers(services, [5.0, 8.0, 9.0], timedelta(hours=1))
    assert (await standing_of(services, "ana")).estimate_seconds == visitor_queue.ESTIMATE_MIN
    await add_answers(services, [50_000.0] * 7, timedelta(hours=2))
    assert (await standing_of(services, "ana")).estimate_seconds == visitor_queue.ESTIMATE_MAX


async def test_nobody_on_duty_gives_a_place_but_no_wait(services: Services) -> None:
    # 03:00 in Paris on a Wednesday: nobody answers; the widget says when someone will.
    night = datetime(2026, 7, 22, 1, 0, tzinfo=UTC)
    services.clock.set(night, frozen=True)
    await visitor_writes(services, "night-owl", night - timedelta(minutes=1))
    await add_answers(services, [120.0, 180.0], timedelta(hours=20))
    assert (await standing_of(services, "night-owl")) == visitor_queue.Standing(1, None)


async def test_a_crowd_asking_at_once_costs_a_read_or_two_and_each_gets_its_place(
    services: Services,
) -> None:
    """Thirty visitors who just wrote all take their first (exact) look at once: the office's
    queue is read once or twice for all of them, not thirty times, and each gets their own
    place. A visitor queued after the last read is not missing from it: their look reads again;
    a refresh within a couple of seconds reads nothing."""
    services.clock.set(NOW, frozen=True)
    visitors = [f"crowd-{n:02d}" for n in range(30)]
    for n, visitor in enumerate(visitors):
        await visitor_writes(services, visitor, NOW - timedelta(minutes=60 - n))
    account = await chat_account(services)
    async with services.db.session() as session:
        ids = {c.thread_key: c.id or 0 for c in (await session.exec(select(Conversation))).all()}
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "waiting_since" in statement and "assignee_id IS NULL" in statement:
            reads.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        looks = await asyncio.gather(
            *(
                visitor_queue.shared_standing(
                    services, account, ids[v], account.office_id or 0, fresh=True
                )
                for v in visitors
            )
        )
        assert [look.position for look in looks] == list(range(1, 31))  # longest waiting first
        assert 1 <= len(reads) <= 2

        await visitor_writes(services, "late", NOW)
        async with services.db.session() as session:
            late = await visitor_queue.conversation_of(session, account, "late")
        assert late is not None and late.id is not None
        reads.clear()
        look = await visitor_queue.shared_standing(services, account, late.id, late.office_id)
        assert look.position == 31 and len(reads) == 1
        again = await visitor_queue.shared_standing(
            services, account, ids["crowd-05"], late.office_id
        )
        assert again.position == 6 and len(reads) == 1  # the board of a moment ago
    finally:
        event.remove(engine, "before_cursor_execute", count)
