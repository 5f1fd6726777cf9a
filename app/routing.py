"""Which office handles a conversation: the destination's shared rota decides.

The rota is kept with the destination (``Destination.rota_toml``) and compiled once per worker;
every decision re-reads the destination's row, so an edit of the rota takes effect for routing at
once, on every worker. Without a rota, an account's own office handles its conversations.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Destination, Office
from rota import RotaValidationError, Schedule, loads_toml

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    office_id: int
    reason: str  # own_hours | shared_duty | override | swap | nobody_on_duty | account_office
    next_answer_at: datetime | None = None  # when nobody is on duty: when someone will be
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Compiled:
    digest: str
    schedule: Schedule | None
    offices: dict[str, int]  # office slug → id


class Router:
    def __init__(self) -> None:
        self._compiled: dict[int, _Compiled] = {}

    async def schedule(self, session: AsyncSession, destination_id: int) -> _Compiled:
        destination = await session.get(Destination, destination_id)
        text = destination.rota_toml if destination else ""
        digest = hashlib.sha256(text.encode()).hexdigest()
        compiled = self._compiled.get(destination_id)
        if compiled is not None and compiled.digest == digest:
            return compiled
        schedule = None
        if text:
            try:
                schedule = Schedule(loads_toml(text))
            except RotaValidationError as exc:  # stored rotas are validated; be safe anyway
                log.error("destination %s has an unreadable rota: %s", destination_id, exc)
        rows = (
            await session.exec(select(Office).where(Office.destination_id == destination_id))
        ).all()
        compiled = _Compiled(digest, schedule, {o.slug: o.id for o in rows if o.id is not None})
        self._compiled[destination_id] = compiled
        return compiled

    async def decide(self, session: AsyncSession, account: Account, at: datetime) -> RouteDecision:
        compiled = await self.schedule(session, account.destination_id)
        if compiled.schedule is None:
            return RouteDecision(account.office_id, "account_office")
        answer = compiled.schedule.route(account.key, at)
        if answer.office is not None and answer.office in compiled.offices:
            return RouteDecision(compiled.offices[answer.office], answer.reason)
        if answer.office is None:
            waiting_office = compiled.offices.get(answer.next_office or "", account.office_id)
            return RouteDecision(waiting_office, "nobody_on_duty", answer.next_at)
        log.warning("the rota names office %r, unknown to the destination", answer.office)
        return RouteDecision(account.office_id, "account_office")
