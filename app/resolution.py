"""What follows a conversation's resolution or reopening, for the parts of the visitor's side:
the satisfaction survey (app.surveys) and "do not keep" erasure (app.visitor_data)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app import surveys, visitor_data
from app.models import Conversation, User
from app.services import Services


async def on_resolved(
    services: Services, session: AsyncSession, conversation: Conversation, user: User
) -> None:
    """Inside the resolving transaction (before its commit)."""
    await surveys.on_resolved(services, session, conversation, user)
    await visitor_data.on_resolved(services, session, conversation, user)


async def after_resolved(services: Services, conversation: Conversation) -> None:
    """After the resolution is committed and published."""
    await surveys.after_resolved(services, conversation)


def on_reopened(conversation: Conversation) -> None:
    """Wherever a resolved conversation opens again (in the reopening transaction)."""
    visitor_data.on_reopened(conversation)
