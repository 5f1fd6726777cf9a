"""Which office handles a conversation: the destination's shared rota decides.

The rota is kept with the destination (``Destination.rota_toml``) and compiled once per worker;
every decision re-reads the destination's row, so an edit of the rota takes effect for routing at
once, on every worker. Without a rota, an account's own office handles its conversations.

When the rota puts several offices on duty at once (``RouteAnswer.also``: a busy evening, a
festival), a new conversation goes to the one with the fewest open unassigned conversations of
the destination right now; a tie goes to the lead (the office the rota names first), then to the
others in the rota's order. The decision says so (``detail`` "shared") and lists every office on
duty (``on_duty``), which the hand-over uses to leave conversations where they are while their
office is still among them (app.handover).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.models import Account, Conversation, ConversationStatus, Destination, Office
from rota import RotaValidationError, RouteAnswer, Schedule, loads_toml

log = logging.getLogger(__name__)

SHARED = "shared"  # a decision's detail when several offices were on duty together


@dataclass(frozen=True, slots=True)
class RouteDecision:
    office_id: int
    reason: str  # own_hours | shared_duty | override | swap | nobody_on_duty | account_office
    next_answer_at: datetime | None = None  # when nobody is on duty: when someone will be
    detail: str = ""
    # Every office answering the account now, the lead first (several: sharing the load);
    # empty when nobody is on duty.
    on_duty: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledRota:
    """A destination's rota, compiled once per text (:meth:`Router.schedule`), with the
    destination's offices."""

    digest: str
    schedule: Schedule | None
    offices: dict[str, int]  # office slug → id

    def office_of(self, account: Account) -> str | None:
        """The slug of ``account``'s office: its owner for the rota when the rota does not
        name the account (:meth:`rota.Schedule.route`)."""
        for slug, office_id in self.offices.items():
            if office_id == account.office_id:
                return slug
        return None


def share(candidates: Sequence[int], loads: Mapping[int, int]) -> int:
    """The office among ``candidates`` (lead first) with the fewest open unassigned
    conversations in ``loads``; a tie goes to the earlier one in ``candidates``."""
    return min(enumerate(candidates), key=lambda pair: (loads.get(pair[1], 0), pair[0]))[1]


async def open_loads(
    session: AsyncSession, destination_id: int, office_ids: Sequence[int]
) -> dict[int, int]:
    """Open, unassigned conversations (spam aside) of the destination per office, in one read."""
    rows = (
        await session.exec(
            select(Conversation.office_id, func.count())
            .where(
                Conversation.destination_id == destination_id,
                Conversation.status == ConversationStatus.OPEN,
                col(Conversation.assignee_id).is_(None),
                Conversation.spam == False,  # noqa: E712
                col(Conversation.office_id).in_(list(office_ids)),
            )
            .group_by(col(Conversation.office_id))
        )
    ).all()
    return {int(office_id): int(n) for office_id, n in rows}


def rota_choice(decision: RouteDecision, office_id: int) -> int:
    """The rota's choice to record for a conversation at ``office_id`` (app.handover): that
    office if the rota has it on duty now, else the office the rota names (the lead; with
    nobody on duty, the office answering next)."""
    return office_id if office_id in decision.on_duty else decision.office_id


class Router:
    def __init__(self) -> None:
        self._compiled: dict[int, CompiledRota] = {}

    async def schedule(self, session: AsyncSession, destination_id: int) -> CompiledRota:
        destination = await session.get(Destination, destination_id)
        if destination is not None:
            # The same unit reads the row again (app.inbox opening a response turn): from memory.
            db.hold(session, destination)
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
        compiled = CompiledRota(digest, schedule, {o.slug: o.id for o in rows if o.id is not None})
        self._compiled[destination_id] = compiled
        return compiled

    async def decide(
        self,
        session: AsyncSession,
        account: Account,
        at: datetime,
        loads: Mapping[int, int] | None = None,
    ) -> RouteDecision:
        """Where a conversation written to ``account`` at ``at`` goes. With several offices on
        duty, the load is read from the database unless the caller gives it (``loads``: open
        unassigned conversations per office, as :func:`open_loads` counts them)."""
        lead = await self.lead(session, account, at)
        if len(lead.on_duty) < 2:
            return lead
        if loads is None:
            loads = await open_loads(session, account.destination_id, lead.on_duty)
        return RouteDecision(
            share(lead.on_duty, loads), lead.reason, detail=SHARED, on_duty=lead.on_duty
        )

    async def lead(self, session: AsyncSession, account: Account, at: datetime) -> RouteDecision:
        """The rota's answer without sharing the load: the lead office when several are on duty
        (no database read beyond the destination's row)."""
        return lead_of(await self.schedule(session, account.destination_id), account, at)


def lead_of(compiled: CompiledRota, account: Account, at: datetime) -> RouteDecision:
    """:meth:`Router.lead` with the destination's rota already at hand (no database read)."""
    if compiled.schedule is None:
        return RouteDecision(account.office_id, "account_office", on_duty=(account.office_id,))
    answer = compiled.schedule.route(account.key, at, compiled.office_of(account))
    if answer.office is not None and answer.office in compiled.offices:
        on_duty = _on_duty(answer, compiled.offices)
        return RouteDecision(on_duty[0], answer.reason, on_duty=on_duty)
    if answer.office is None:
        waiting_office = compiled.offices.get(answer.next_office or "", account.office_id)
        return RouteDecision(waiting_office, "nobody_on_duty", answer.next_at)
    log.warning("the rota names office %r, unknown to the destination", answer.office)
    return RouteDecision(account.office_id, "account_office", on_duty=(account.office_id,))


def _on_duty(answer: RouteAnswer, offices: Mapping[str, int]) -> tuple[int, ...]:
    """The lead's id, then the other offices' on duty with it (those the destination knows)."""
    ids: list[int] = []
    for slug in (answer.office, *answer.also):
        office_id = offices.get(slug or "")
        if office_id is not None and office_id not in ids:
            ids.append(office_id)
    return tuple(ids)
