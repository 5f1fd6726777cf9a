"""Who is on duty now, for the duty banner and the transfer dialog: an office answers in its own
opening hours (for its own accounts) and when it holds the shared duty (for the destination),
alone or with others sharing the load (the rota's ``also``: each of them is on duty, and each
one's duty names the others in ``together``).

Everything is asked of the destination's compiled rota (``Router.schedule``); times are UTC.
Without a rota every office answers its own accounts at all times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Office, User
from app.services import Services
from rota import FAR_FUTURE, DutyAnswer, Schedule

Kind = Literal["own_hours", "shared_duty"]
Scope = Literal["office", "destination"]

LOOK_BACK = timedelta(days=14)  # a duty begun longer ago than this shows this as its start
LOOK_AHEAD = timedelta(days=62)  # how far "next on duty" looks for the office's next turn


@dataclass(frozen=True, slots=True)
class Duty:
    """One office's duty now (``office_id`` None: a destination manager, nobody on duty)."""

    office_id: int | None
    office_name: str
    on_duty: bool
    kind: Kind | None
    scope: Scope
    since: datetime | None
    until: datetime | None
    next_start: datetime | None
    together: tuple[str, ...] = ()  # the other offices on the shared duty with it, by name


def _bound(at: datetime) -> datetime | None:
    return None if at >= FAR_FUTURE else at


def _known(schedule: Schedule, slug: str) -> bool:
    return any(office.id == slug for office in schedule.rota.offices)


def own_hours_since(schedule: Schedule, slug: str, now: datetime) -> datetime:
    """Where the opening span going on at ``now`` began: its last opening up to ``now`` (the
    rota merges touching hours into one span, so that opening is the span's own)."""
    since = now - LOOK_BACK
    opening = schedule.next_opening(slug, since)
    while opening is not None and opening <= now:
        since = opening
        opening = schedule.next_opening(slug, opening)
    return since


def shared_since(schedule: Schedule, now: datetime) -> datetime:
    """Where the stretch of shared duty going on at ``now`` began."""
    stretches = list(schedule.segments(now - LOOK_BACK, now + timedelta(seconds=1)))
    return stretches[-1].start if stretches else now


def next_shared_turn(schedule: Schedule, slug: str, now: datetime) -> datetime | None:
    for segment in schedule.segments(now, now + LOOK_AHEAD):
        if (segment.office == slug or slug in segment.also) and segment.start > now:
            return segment.start
    return None


def sharing(shared: DutyAnswer) -> tuple[str, ...]:
    """Every office on the shared duty, the lead first (none: nobody on duty)."""
    if shared.office is None:
        return ()
    return (shared.office, *(o for o in shared.also if o != shared.office))


def office_duty(
    schedule: Schedule | None,
    office_id: int,
    slug: str,
    name: str,
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> Duty:
    """An office's duty at ``now``. Holding the shared duty (alone or with others) comes first:
    the office then answers for the whole destination, its own hours or not. ``names``: office
    names by slug, for the offices sharing the duty with it."""
    if schedule is None:
        return Duty(office_id, name, True, "own_hours", "office", None, None, None)
    shared = schedule.on_duty(now)
    offices = sharing(shared)
    if slug in offices:
        since = shared_since(schedule, now)
        until = _bound(shared.valid_until)
        together = tuple((names or {}).get(o, o) for o in offices if o != slug)
        return Duty(
            office_id, name, True, "shared_duty", "destination", since, until, None, together
        )
    if not _known(schedule, slug):  # an office the rota does not list never answers alone
        return Duty(office_id, name, False, None, "office", None, None, None)
    closes = schedule.is_open(slug, now)
    if closes is not None:
        since = own_hours_since(schedule, slug, now)
        return Duty(office_id, name, True, "own_hours", "office", since, closes, None)
    starts = [
        at
        for at in (schedule.next_opening(slug, now), next_shared_turn(schedule, slug, now))
        if at is not None
    ]
    return Duty(office_id, name, False, None, "office", None, None, min(starts, default=None))


async def offices_on_duty(
    services: Services, session: AsyncSession, destination_id: int
) -> dict[int, Duty]:
    """The duty now of every office of the destination, by office id."""
    compiled = await services.router.schedule(session, destination_id)
    offices = (
        await session.exec(
            select(Office).where(Office.destination_id == destination_id).order_by(col(Office.id))
        )
    ).all()
    now = services.clock.now()
    names = {o.slug: o.name for o in offices}
    return {
        o.id: office_duty(compiled.schedule, o.id, o.slug, o.name, now, names)
        for o in offices
        if o.id is not None
    }


async def _names(session: AsyncSession, destination_id: int) -> dict[str, str]:
    rows = (await session.exec(select(Office).where(Office.destination_id == destination_id))).all()
    return {o.slug: o.name for o in rows}


async def for_user(services: Services, user: User) -> Duty:
    """The banner's duty: the user's office; for a destination manager, the office on shared
    duty now (if none, when the next turn begins). Either names the offices sharing that duty
    (``together``)."""
    now = services.clock.now()
    async with services.db.session() as session:
        compiled = await services.router.schedule(session, user.destination_id)
        schedule = compiled.schedule
        shared = schedule.on_duty(now) if schedule is not None else None
        # Office names only when the duty is shared (one read more, then only).
        names = await _names(session, user.destination_id) if shared and shared.also else {}
        if user.office_id is not None:
            office = await session.get(Office, user.office_id)
            assert office is not None and office.id is not None
            return office_duty(schedule, office.id, office.slug, office.name, now, names)
        if schedule is None or shared is None:  # no rota: every office answers its own
            return Duty(None, "", False, None, "destination", None, None, None)
        office_id = compiled.offices.get(shared.office or "")
        if shared.office is None or office_id is None:
            following = schedule.next_on_duty(now)
            start = following.start if following is not None else None
            return Duty(None, "", False, None, "destination", None, None, start)
        office = await session.get(Office, office_id)
        name = office.name if office is not None else ""
    since, until = shared_since(schedule, now), _bound(shared.valid_until)
    together = tuple(names.get(o, o) for o in sharing(shared)[1:])
    return Duty(office_id, name, True, "shared_duty", "destination", since, until, None, together)
