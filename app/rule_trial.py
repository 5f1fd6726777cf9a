"""Trying a rule's words on past conversations before switching it on: "would have matched 37
of the last 30 days' 412 conversations".

The visitor messages of the last ``DAYS`` days that ingest would have given to the rules
(normal messages, not spam) are read in the caller's sight only (``visible_filter``), matched
exactly as at ingest, and counted by conversation.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from sqlmodel import col, select

from app import repository
from app.models import AuthorKind, Conversation, Direction, Message, User
from app.rule_match import Prepared, compile_words, matches, snippet
from app.rules import check_reader, check_words
from app.services import Services
from app.textnorm import fold

DAYS = 30
EXAMPLES = 5
_BATCH = 2000


class Example(BaseModel):
    conversation_id: int
    snippet: str


class TrialOut(BaseModel):
    matched: int  # conversations with at least one matching visitor message
    conversations: int  # conversations with a visitor message in the period
    days: int
    examples: list[Example]  # the most recent matches


async def trial(services: Services, user: User, words: object) -> TrialOut:
    check_reader(user)
    pattern = compile_words(tuple(check_words(words)))
    since = services.clock.now() - timedelta(days=DAYS)
    seen: set[int] = set()
    hits: dict[int, tuple[int, str]] = {}  # conversation → (message id, its text)
    async with services.db.session() as session:
        query = (
            select(Message.id, Message.conversation_id, Message.text, Conversation.subject)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(
                repository.visible_filter(user),
                col(Conversation.spam).is_(False),
                Message.direction == Direction.IN,
                Message.author_kind == AuthorKind.VISITOR,
                Message.kind == "normal",
                col(Message.created_at) >= since,
            )
            .order_by(col(Message.id))
            .execution_options(yield_per=_BATCH)
        )
        result = await session.stream(query)
        async for message_id, conversation_id, text, subject in result:
            seen.add(conversation_id)
            if matches(pattern, Prepared(fold(f"{subject}\n{text}" if subject else text))):
                hits[conversation_id] = (message_id, f"{subject}\n{text}" if subject else text)
    latest = sorted(hits.items(), key=lambda item: item[1][0], reverse=True)[:EXAMPLES]
    examples = []
    for conversation_id, (_, text) in latest:
        assert pattern is not None  # something matched
        examples.append(
            Example(conversation_id=conversation_id, snippet=snippet(pattern, text) or "")
        )
    return TrialOut(matched=len(hits), conversations=len(seen), days=DAYS, examples=examples)
