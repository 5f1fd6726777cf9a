"""The rota page: who is on duty this week or month, gaps in red, overrides and swaps, fairness,
and calendar feeds advisers can subscribe to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import rota_admin
from app.deps import (
    CSRF_COOKIE,
    ServicesDep,
    get_services,
    language_for,
    optional_user,
    translator,
)
from app.models import Destination, Office, Role, User
from app.services import Services
from app.web.render import render
from rota import (
    Override,
    RotaValidationError,
    Schedule,
    Swap,
    dumps_toml,
    fairness,
    feed,
    reasons_of,
    refused,
)
from rota.timeutil import to_utc

router = APIRouter()
Work = Callable[[AsyncSession, Destination], Awaitable[None]]
PALETTE = ("#0b6e77", "#8a4fbf", "#c2571a", "#2f7d32", "#b0306a", "#35609f", "#7a6a00")


@dataclass(frozen=True, slots=True)
class Block:
    start: str
    end: str
    label: str
    reason: str
    color: str
    gap: bool = False


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    blocks: list[Block]
    today: bool


def _signer(services: Services) -> URLSafeSerializer:
    return URLSafeSerializer(services.settings.secret_key.get_secret_value(), salt="concierge.ical")


MAX_DAYS_AWAY = 10 * 366  # how far from today the calendar may be asked to show


def can_edit(user: User) -> bool:
    return user.role in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)


async def _context(services: Services, user: User, start: date | None, view: str) -> dict[str, Any]:
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
        assert destination is not None
        rota = await rota_admin.current(session, destination)
        offices = (
            await session.exec(
                select(Office)
                .where(Office.destination_id == destination.id)
                .order_by(col(Office.id))
            )
        ).all()
    zone = ZoneInfo(rota.timezone)
    today = services.clock.now().astimezone(zone).date()
    first = start or today
    if view == "month":
        first = first.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        first = first - timedelta(days=first.weekday())
        last = first + timedelta(days=6)
    schedule = Schedule(rota)
    names = {o.slug: o.name for o in offices}
    colors = {o.id: PALETTE[i % len(PALETTE)] for i, o in enumerate(rota.offices)}
    begin = to_utc(first, 0, zone)
    end = to_utc(last + timedelta(days=1), 0, zone)
    days: dict[date, list[Block]] = {
        first + timedelta(days=n): [] for n in range((last - first).days + 1)
    }

    def local(at: datetime) -> str:
        return at.astimezone(zone).strftime("%H:%M")

    for seg in schedule.segments(begin, end):
        day = seg.start.astimezone(zone).date()
        if day in days:
            label = names.get(seg.office, seg.office)
            days[day].append(
                Block(
                    local(seg.start),
                    local(seg.end),
                    label,
                    seg.reason,
                    colors.get(seg.office, "#555"),
                )
            )
    for gap_start, gap_end in schedule.gaps(begin, end):
        day = gap_start.astimezone(zone).date()
        if day in days:
            days[day].append(
                Block(local(gap_start), local(gap_end), "", "gap", "#b3261e", gap=True)
            )
    for blocks in days.values():
        blocks.sort(key=lambda b: b.start)
    table = fairness(schedule, first, last)
    feeds = {
        "": _signer(services).dumps({"d": destination.id, "o": ""}),
        **{o.id: _signer(services).dumps({"d": destination.id, "o": o.id}) for o in rota.offices},
    }
    return {
        "destination": destination,
        "rota": rota,
        "names": names,
        "colors": colors,
        "view": view,
        "first": first,
        "previous": (first - timedelta(days=1)).replace(day=1)
        if view == "month"
        else first - timedelta(days=7),
        "next": last + timedelta(days=1),
        "days": [Day(d, blocks, d == today) for d, blocks in days.items()],
        "fairness": table,
        "feeds": feeds,
        "can_edit": can_edit(user),
        "zone": rota.timezone,
    }


@router.get("/rota", response_class=HTMLResponse)
async def rota_page(
    request: Request,
    services: ServicesDep,
    start: date | None = None,
    view: Literal["week", "month"] = "week",
) -> Response:
    """The shared duty calendar with its gaps, overrides, swaps and fairness table."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    # The schedule is computed from the rota's start onwards: a date centuries away would take
    # the worker seconds (and the year 9999 overflows), so the calendar keeps to a span.
    today = services.clock.now().date()
    if start is not None and abs((start - today).days) > MAX_DAYS_AWAY:
        text = translator(request, user)("error.rota_date_out_of_range")
        return PlainTextResponse(text, status_code=422)
    context = await _context(services, user, start, view)
    return render(request, "rota.html", user=user, **context)


async def _edit(
    request: Request,
    services: Services,
    csrf_token: str,
    change: str,
    build_and_save: Work,
) -> Response:
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if not can_edit(user):
        return PlainTextResponse(translator(request, user)("error.managers_only"), status_code=403)
    if request.cookies.get(CSRF_COOKIE) != csrf_token or not csrf_token:
        return PlainTextResponse(translator(request, user)("error.csrf"), status_code=403)
    try:
        async with services.db.session() as session:
            destination = await session.get(Destination, user.destination_id)
            assert destination is not None
            await build_and_save(session, destination)
    except RotaValidationError as exc:
        context = await _context(services, user, None, "week")
        language = language_for(request, user)
        errors = [rota_admin.describe(reason, language) for reason in exc.reasons]
        return render(
            request, "rota.html", user=user, errors=errors, form=change, status_code=422, **context
        )
    return RedirectResponse("/rota", status_code=303)


def _local_instant(value: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise refused(field, "not_a_datetime", "is not a date and time") from None
    if naive.utcoffset() is not None:
        return naive
    minutes = naive.hour * 60 + naive.minute
    return to_utc(naive.date(), minutes, zone)


@router.post("/rota/overrides", response_class=HTMLResponse)
async def add_override(
    request: Request,
    services: ServicesDep,
    start: Annotated[str, Form(max_length=40)] = "",
    end: Annotated[str, Form(max_length=40)] = "",
    office: Annotated[str, Form(max_length=64)] = "",
    priority: Annotated[int, Form(ge=-100, le=100)] = 0,
    note: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Puts an office on duty — or nobody — between two local times."""

    async def work(session: AsyncSession, destination: Destination) -> None:
        zone = ZoneInfo(destination.timezone)
        override = Override(
            start=_local_instant(start, zone, "override.start"),
            end=_local_instant(end, zone, "override.end"),
            office=office or None,
            priority=priority,
            note=note,
        )
        await rota_admin.add_override(session, destination, override, services.clock.now())

    return await _edit(request, services, csrf_token, "override", _validated(work))


@router.post("/rota/overrides/{index}/delete", response_class=HTMLResponse)
async def delete_override(
    index: int,
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Removes an override."""

    async def work(session: AsyncSession, destination: Destination) -> None:
        await rota_admin.remove_override(session, destination, index)

    return await _edit(request, services, csrf_token, "override", work)


@router.post("/rota/swaps", response_class=HTMLResponse)
async def add_swap(
    request: Request,
    services: ServicesDep,
    turn: Annotated[str, Form(max_length=20)] = "",
    a: Annotated[str, Form(max_length=64)] = "",
    b: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Two offices exchange the turn containing a date."""

    async def work(session: AsyncSession, destination: Destination) -> None:
        try:
            day = date.fromisoformat(turn)
        except ValueError:
            raise refused("swap.turn", "not_a_date", "is not a date") from None
        await rota_admin.add_swap(session, destination, Swap(turn=day, a=a, b=b, note=note))

    return await _edit(request, services, csrf_token, "swap", _validated(work))


@router.post("/rota/swaps/{index}/delete", response_class=HTMLResponse)
async def delete_swap(
    index: int,
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Removes a swap."""

    async def work(session: AsyncSession, destination: Destination) -> None:
        await rota_admin.remove_swap(session, destination, index)

    return await _edit(request, services, csrf_token, "swap", work)


def _validated(work: Work) -> Work:
    """Turns the model's own validation errors into the rota's, naming the field."""

    async def run(session: AsyncSession, destination: Destination) -> None:
        try:
            await work(session, destination)
        except ValidationError as exc:
            raise RotaValidationError(reasons_of(exc, "form")) from None

    return run


@router.get("/rota/export.toml")
async def export_toml(request: Request, services: ServicesDep) -> Response:
    """The rota as a TOML file."""
    user = await optional_user(request)
    if user is None:
        return PlainTextResponse(translator(request)("error.login_required"), status_code=401)
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
        assert destination is not None
        text = dumps_toml(await rota_admin.current(session, destination))
    return PlainTextResponse(text, media_type="application/toml")


@router.get("/rota/ical/{token}.ics")
async def ical_feed(token: str, request: Request) -> Response:
    """A calendar feed of the shared duty (the link itself is the credential)."""
    services = get_services(request)
    try:
        data = _signer(services).loads(token)
    except BadSignature:
        return PlainTextResponse(translator(request)("error.unknown_calendar"), status_code=404)
    async with services.db.session() as session:
        destination = await session.get(Destination, int(data["d"]))
        if destination is None:
            return PlainTextResponse(translator(request)("error.unknown_calendar"), status_code=404)
        rota = await rota_admin.current(session, destination)
    now = services.clock.now()
    start = datetime.combine(now.date() - timedelta(days=31), time(), tzinfo=now.tzinfo)
    body = feed(
        Schedule(rota), start, start + timedelta(days=31 + 180), office=data["o"] or None, stamp=now
    )
    return Response(body, media_type="text/calendar; charset=utf-8")
