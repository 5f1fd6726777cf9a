"""The visitor's data in their own hands: their conversation downloaded or erased from the
widget, and "do not keep this conversation after it is answered" (``Conversation.forget_*``)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Conversation, User
from app.services import Services


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``data``)."""
    return {}


async def on_resolved(
    services: Services, session: AsyncSession, conversation: Conversation, user: User
) -> None:
    """In the transaction that resolves ``conversation``: a "do not keep" one gets its
    ``forget_at``."""


def on_reopened(conversation: Conversation) -> None:
    """A conversation reopened (by an adviser, or the visitor writing again): not erased while
    open."""
