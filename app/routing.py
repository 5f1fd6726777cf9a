"""Which office handles a new conversation, and which adviser in it.

The decision comes from the destination's shared rota (``rota/``); without a rota, an account's
own office handles its conversations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account


@dataclass(frozen=True, slots=True)
class RouteDecision:
    office_id: int
    reason: str  # own_hours | shared_duty | override | swap | nobody_on_duty | account_office
    next_answer_at: datetime | None = None  # when nobody is on duty: when someone will be
    detail: str = ""


class Router:
    async def decide(self, session: AsyncSession, account: Account, at: datetime) -> RouteDecision:
        return RouteDecision(office_id=account.office_id, reason="account_office")
