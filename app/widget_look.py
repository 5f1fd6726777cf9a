"""A chat widget's look and manners, per chat account: colour, position, title, greeting per
language, the office's logo, and whether a name or an address is asked before the first
message (``Account.widget``, ``WidgetLogo``)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account
from app.services import Services


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``look``)."""
    return {}


async def accounts_context(
    services: Services, session: AsyncSession, accounts: list[Account], lang: str
) -> dict[str, Any]:
    """What ``templates/accounts/_widget.html`` needs on the /accounts page."""
    return {}
