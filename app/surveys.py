"""Satisfaction: one question when a conversation is resolved (widget, e-mail, X DM), its answer,
and CSAT per account, office and adviser (``Survey``)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Conversation, User
from app.services import Services


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``survey``)."""
    return {}


async def on_resolved(
    services: Services, session: AsyncSession, conversation: Conversation, user: User
) -> None:
    """In the transaction that resolves ``conversation`` (nothing sent yet)."""


async def after_resolved(services: Services, conversation: Conversation) -> None:
    """Once the resolution is stored and published: the survey goes out (widget, e-mail, X)."""
