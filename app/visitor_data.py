"""The visitor's data in their own hands: their conversation downloaded or erased from the
widget, and "do not keep this conversation after it is answered" (``Conversation.forget_*``).

This module holds the hooks (the ``hello`` fields, resolution and reopening: app.actions calls
them, so this imports nothing of it); the visitor's requests are app.visitor_data_actions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlmodel.ext.asyncio.session import AsyncSession

from app import visitor_queue
from app.models import Account, Conversation, Destination, User
from app.services import Services


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``data``)."""
    conversation = await visitor_queue.conversation_of(session, account, visitor_id)
    return {
        "data": {
            "exists": conversation is not None,  # something to download or erase
            "forget": bool(conversation and conversation.forget_after_resolved),
            "forget_hours": services.settings.forget_after_hours,
        }
    }


async def on_resolved(
    services: Services, session: AsyncSession, conversation: Conversation, user: User
) -> None:
    """In the transaction that resolves ``conversation``: a "do not keep" one gets its
    ``forget_at``."""
    if conversation.forget_after_resolved:
        conversation.forget_at = due(services)


def on_reopened(conversation: Conversation) -> None:
    """A conversation reopened (by an adviser, or the visitor writing again): not erased while
    open."""
    conversation.forget_at = None


def due(services: Services) -> datetime:
    """When a "do not keep" conversation resolved now is erased."""
    return services.clock.now() + timedelta(hours=services.settings.forget_after_hours)


async def privacy_url(services: Services, account: Account, lang: str) -> str:
    """The privacy notice of the widget's own destination, in the visitor's language."""
    async with services.db.session() as session:
        destination = await session.get(Destination, account.destination_id)
    slug = quote(destination.slug, safe="") if destination else ""
    return f"{services.settings.base_url}/privacy/{slug}?lang={lang}"
