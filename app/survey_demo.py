"""Demo satisfaction: surveys for the demo history's resolved conversations, so the dashboard's
CSAT section has figures and comments to show (``seed_demo``, called once after the history)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import (
    AuthorKind,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    Survey,
)

COMMENTS = (
    (5, "Réponse rapide et très claire, merci !"),
    (5, "Parfait, nous avons trouvé le gîte grâce à vous."),
    (4, "Bonne réponse, un peu longue à venir."),
    (4, "Very helpful, thank you."),
    (3, "Correct, mais j'aurais aimé les horaires du bus aussi."),
    (2, "Réponse arrivée après notre départ."),
    (1, "Personne ne m'a répondu sur la navette."),
)
RATINGS = (5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1)


async def seed_demo(session: AsyncSession, destination_id: int) -> int:
    """Adds a survey to most resolved conversations a person answered (none already asked);
    about half of them answered. Returns how many surveys were written."""
    if (
        await session.exec(select(Survey.id).where(Survey.destination_id == destination_id))
    ).first() is not None:
        return 0
    rng = random.Random(destination_id * 7919)  # noqa: S311 - invented demo data, the same every time
    replied = (
        await session.exec(
            select(Conversation, Message.author_user_id, Message.created_at)
            .join(Message, col(Message.conversation_id) == col(Conversation.id))
            .where(
                Conversation.destination_id == destination_id,
                Conversation.status == ConversationStatus.RESOLVED,
                col(Conversation.spam).is_(False),
                Message.direction == Direction.OUT,
                Message.author_kind == AuthorKind.ADVISER,
            )
            .order_by(col(Conversation.id), col(Message.created_at).desc())
        )
    ).all()
    seen: set[int] = set()
    written = 0
    for conversation, adviser_id, answered_at in replied:
        if conversation.id in seen or rng.random() > 0.8:
            seen.add(conversation.id or 0)
            continue
        seen.add(conversation.id or 0)
        sent = answered_at + timedelta(minutes=rng.randrange(5, 240))
        via = {"webchat": "widget", "email": "email"}.get(conversation.channel, "x")
        survey = Survey(
            destination_id=destination_id,
            conversation_id=conversation.id or 0,
            account_id=conversation.account_id,
            office_id=conversation.office_id,
            adviser_id=adviser_id,
            channel=conversation.channel,
            via=via if rng.random() > 0.1 else "",
            language="fr",
            sent_at=sent,
            expires_at=sent + timedelta(days=7),
        )
        if survey.via and rng.random() < 0.5:
            survey.rating = rng.choice(RATINGS)
            survey.answered_at = sent + timedelta(minutes=rng.randrange(2, 2000))
            if rng.random() < 0.3:
                fitting = [text for rating, text in COMMENTS if rating == survey.rating]
                survey.comment = rng.choice(fitting) if fitting else ""
        session.add(survey)
        written += 1
    await session.commit()
    return written
