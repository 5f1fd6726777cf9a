"""Never silent: a visitor told who will answer and when when nobody is online, offered to leave
an address, and answered by e-mail once they have gone (``Conversation.reply_email``)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account
from app.services import Services


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``offline``)."""
    return {}


async def accounts_context(
    services: Services, session: AsyncSession, accounts: list[Account], lang: str
) -> dict[str, Any]:
    """What ``templates/accounts/_mailbox_notice.html`` needs on the /accounts page."""
    return {}
