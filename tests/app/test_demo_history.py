"""The demo's history: a season answered and resolved, and an evening's handful waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from app.db import Database, create_tables
from app.demo import seed
from app.demo_history import generate
from app.models import Conversation, ConversationStatus, Message, ResponseTurn
from app.services import Services

# Saturday 18 July 2026, 21:14 in Paris.
EVENING = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)


async def test_the_past_is_answered_and_only_this_evening_waits(services: Services) -> None:
    async with services.db.session() as session:
        written = await generate(session, 21, EVENING)
        conversations = (await session.exec(select(Conversation))).all()
        open_turns = (
            await session.exec(select(ResponseTurn).where(col(ResponseTurn.answered_at).is_(None)))
        ).all()
        messages = (await session.exec(select(Message))).all()
    assert written == len(conversations) > 100
    waiting = [c for c in conversations if c.status == ConversationStatus.OPEN]
    assert 3 <= len(waiting) <= 5
    for c in waiting:
        assert c.assignee_id is None and c.unread == 1
        assert c.waiting_since is not None
        assert EVENING - timedelta(hours=2) <= c.waiting_since < EVENING
    # A couple of chats from the last minutes, an e-mail and an X mention.
    recent_chats = [
        c
        for c in waiting
        if c.channel == "webchat" and EVENING - c.created_at <= timedelta(minutes=10)
    ]
    assert len(recent_chats) >= 2
    assert {c.channel for c in waiting} == {"webchat", "email", "twitter"}
    assert next(c for c in waiting if c.channel == "email").subject
    # Everything before is answered, resolved, and counted in the figures.
    history = [c for c in conversations if c.status != ConversationStatus.OPEN]
    assert all(c.status == ConversationStatus.RESOLVED and c.assignee_id for c in history)
    assert {t.conversation_id for t in open_turns} == {c.id for c in waiting}
    answered = {m.conversation_id for m in messages if m.direction == "out"}
    assert answered == {c.id for c in history}
    assert all(m.created_at <= EVENING for m in messages)


async def test_the_demo_is_the_same_every_time(services: Services, tmp_path: Path) -> None:
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    await create_tables(other.engine)
    async with other.session() as session:
        await seed(session)
    runs = []
    for db in (services.db, other):
        async with db.session() as session:
            await generate(session, 5, EVENING)
            rows = (await session.exec(select(Conversation).order_by(col(Conversation.id)))).all()
        runs.append([(c.channel, c.created_at, c.status, c.office_id, c.preview) for c in rows])
    await other.dispose()
    assert runs[0] == runs[1] and len(runs[0]) > 20
