"""The rota page: who is on duty this week or month, gaps in red, overrides and swaps, fairness,
and calendar feeds advisers can subscribe to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
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
from app.web import rota_says, rota_view
from app.web.render import render
from app.web.rota_view import View
from rota import (
    Override,
    Reason,
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
NOTE_MAX = 500  # characters of an override's or a swap's note
MAX_ALSO = 50  # offices sharing one override: more than any destination has
TEXT_MAX = 10_000  # past this a form field is not a person's input: FastAPI refuses it


@dataclass(frozen=True, slots=True)
class Entered:
    """A form as the manager filled it in, to show it again, unchanged, with what is wrong."""

    kind: Literal["override", "swap"]
    values: dict[str, str]
    also: tuple[str, ...] = ()  # the offices ticked to share an override's duty


def _signer(services: Services) -> URLSafeSerializer:
    return URLSafeSerializer(services.settings.secret_key.get_secret_value(), salt="concierge.ical")


MAX_DAYS_AWAY = 10 * 366  # how far from today the calendar may be asked to show


def can_edit(user: User) -> bool:
    return user.role in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)


def _page_url(view: View, start: date | None) -> str:
    return f"/rota?view={view}" + (f"&start={start.isoformat()}" if start else "")


async def _context(
    services: Services, user: User, start: date | None, view: View, language: str
) -> dict[str, Any]:
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
    shown = rota_view.period(view, start or today)
    schedule = Schedule(rota)
    names = {o.slug: o.name for o in offices}
    found = rota_view.looks(rota, names)
    shown_names = {slug: look.name for slug, look in found.offices.items()}
    table = fairness(schedule, shown.first, shown.last)
    feeds = {
        "": _signer(services).dumps({"d": destination.id, "o": ""}),
        **{o.id: _signer(services).dumps({"d": destination.id, "o": o.id}) for o in rota.offices},
    }
    return {
        "destination": destination,
        "rota": rota,
        "names": shown_names,
        "colors": {slug: look.color for slug, look in found.offices.items()},
        "office_zones": [
            (look.name, look.zone, rota_view.place(look.zone))
            for look in found.offices.values()
            if look.zone is not None
        ],
        "view": view,
        "shown": shown,
        "first": shown.first,
        "previous": shown.previous,
        "next": shown.next,
        "page_url": _page_url(view, start),
        "weekdays": range(7),
        "days": rota_view.calendar(schedule, shown, found, today),
        "fairness": {
            office: {slot: rota_view.slots(n, language) for slot, n in counts.items()}
            for office, counts in table.items()
        },
        "says": rota_says.says(rota, shown_names, language, today),
        "name_list": lambda ids: ", ".join(shown_names.get(i, i) for i in ids),
        "feeds": feeds,
        "can_edit": can_edit(user),
        "zone": rota.timezone,
    }


def _too_far(services: Services, start: date | None) -> bool:
    # The schedule is computed from the rota's start onwards: a date centuries away would take
    # the worker seconds (and the year 9999 overflows), so the calendar keeps to a span.
    today = services.clock.now().date()
    return start is not None and abs((start - today).days) > MAX_DAYS_AWAY


@router.get("/rota", response_class=HTMLResponse)
async def rota_page(
    request: Request,
    services: ServicesDep,
    start: Annotated[str, Query(max_length=40)] = "",
    view: Annotated[str, Query(max_length=20)] = "week",
) -> Response:
    """The shared duty calendar with its gaps, overrides, swaps and fairness table."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    t = translator(request, user)
    # Said in the reader's language on a line of its own, not FastAPI's JSON: these come from
    # a link or the address bar.
    try:
        day = date.fromisoformat(start) if start else None
    except ValueError:
        return PlainTextResponse(t("rota.error.bad_start"), status_code=422)
    if view not in ("week", "month"):
        return PlainTextResponse(t("rota.error.bad_view"), status_code=422)
    if _too_far(services, day):
        return PlainTextResponse(t("error.rota_date_out_of_range"), status_code=422)
    language = language_for(request, user)
    context = await _context(services, user, day, "month" if view == "month" else "week", language)
    return render(request, "rota.html", user=user, **context)


def _shown(services: Services, view: str, period: str) -> tuple[View, date | None]:
    """The view and date the form was sent from (hidden fields), to come back to them; anything
    unexpected there is not worth an error: the current week instead."""
    chosen: View = "month" if view == "month" else "week"
    try:
        start: date | None = date.fromisoformat(period) if period else None
    except ValueError:
        start = None
    if _too_far(services, start):
        start = None
    return chosen, start


async def _edit(
    request: Request,
    services: Services,
    csrf_token: str,
    shown: tuple[View, date | None],
    entered: Entered | None,
    build_and_save: Work,
) -> Response:
    """Runs a change; a refusal shows the page again with the form as it was sent, each error
    beside its field (422); a change made goes back to the page (303: a reload does not send
    the form again)."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if not can_edit(user):
        return PlainTextResponse(translator(request, user)("error.managers_only"), status_code=403)
    if request.cookies.get(CSRF_COOKIE) != csrf_token or not csrf_token:
        return PlainTextResponse(translator(request, user)("error.csrf"), status_code=403)
    view, start = shown
    try:
        async with services.db.session() as session:
            destination = await session.get(Destination, user.destination_id)
            assert destination is not None
            await build_and_save(session, destination)
    except RotaValidationError as exc:
        language = language_for(request, user)
        context = await _context(services, user, start, view, language)
        errors: list[tuple[str | None, str]] = []
        beside: dict[str, str] = {}
        for reason in exc.reasons:
            name = rota_admin.form_field(reason) if entered is not None else None
            errors.append((name, rota_admin.describe(reason, language)))
            if name is not None and name not in beside:
                beside[name] = rota_admin.reason_text(reason, language)
        return render(
            request,
            "rota.html",
            user=user,
            errors=errors,
            form=entered.kind if entered else None,
            entered=entered.values if entered else {},
            also_kept=entered.also if entered else (),
            field_errors=beside,
            status_code=422,
            **context,
        )
    return RedirectResponse(_page_url(view, start), status_code=303)


def _local_instant(value: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise refused(field, "not_a_datetime", "is not a date and time") from None
    if naive.utcoffset() is not None:
        return naive
    minutes = naive.hour * 60 + naive.minute
    return to_utc(naive.date(), minutes, zone)


def _note(value: str, field: str) -> str:
    if len(value) > NOTE_MAX:
        raise refused(field, "type.string_too_long", "text too long")
    return value


Text = Annotated[str, Form(max_length=TEXT_MAX)]


@router.post("/rota/overrides", response_class=HTMLResponse)
async def add_override(
    request: Request,
    services: ServicesDep,
    start: Text = "",
    end: Text = "",
    office: Text = "",
    priority: Text = "0",
    note: Text = "",
    also: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies the default)
    csrf_token: Text = "",
    view: Text = "",
    period: Text = "",
) -> Response:
    """Puts an office on duty — or nobody — between two local times, with other offices
    sharing the duty (``also``) when any are ticked."""
    entered = Entered(
        "override",
        {"start": start, "end": end, "office": office, "note": note},
        tuple(also[:MAX_ALSO]),
    )

    async def work(session: AsyncSession, destination: Destination) -> None:
        zone = ZoneInfo(destination.timezone)
        values: dict[str, Any] = {"office": office or None}
        problems: list[Reason] = []
        # Every field is checked, so each one wrong is shown at once, not one per attempt.
        for name, parse in (
            ("start", partial(_local_instant, start, zone, "override.start")),
            ("end", partial(_local_instant, end, zone, "override.end")),
            ("priority", partial(_priority, priority)),
            ("note", partial(_note, note, "override.note")),
            ("also", partial(_also, also)),
        ):
            try:
                values[name] = parse()
            except RotaValidationError as exc:
                problems.extend(exc.reasons)
        if problems:
            raise RotaValidationError(problems)
        override = Override(**values)
        await rota_admin.add_override(session, destination, override, services.clock.now())

    shown = _shown(services, view, period)
    return await _edit(request, services, csrf_token, shown, entered, _validated(work))


def _also(values: list[str]) -> list[str]:
    if len(values) > MAX_ALSO or any(len(v) > 64 for v in values):
        raise refused("override.also", "invalid", "too many offices")
    return values


def _priority(value: str) -> int:
    try:
        number = int(value.strip() or "0")
    except ValueError:
        raise refused("override.priority", "type.int_parsing", "is not a whole number") from None
    if not -100 <= number <= 100:
        raise refused("override.priority", "priority_range", "must be between -100 and 100")
    return number


@router.post("/rota/overrides/{index}/delete", response_class=HTMLResponse)
async def delete_override(
    index: int,
    request: Request,
    services: ServicesDep,
    csrf_token: Text = "",
    view: Text = "",
    period: Text = "",
) -> Response:
    """Removes an override."""

    async def work(session: AsyncSession, destination: Destination) -> None:
        await rota_admin.remove_override(session, destination, index)

    shown = _shown(services, view, period)
    return await _edit(request, services, csrf_token, shown, None, work)


@router.post("/rota/swaps", response_class=HTMLResponse)
async def add_swap(
    request: Request,
    services: ServicesDep,
    turn: Text = "",
    a: Text = "",
    b: Text = "",
    note: Text = "",
    csrf_token: Text = "",
    view: Text = "",
    period: Text = "",
) -> Response:
    """Two offices exchange the turn containing a date."""
    entered = Entered("swap", {"turn": turn, "a": a, "b": b, "note": note})

    async def work(session: AsyncSession, destination: Destination) -> None:
        try:
            day = date.fromisoformat(turn)
        except ValueError:
            raise refused("swap.turn", "not_a_date", "is not a date") from None
        swap = Swap(turn=day, a=a, b=b, note=_note(note, "swap.note"))
        await rota_admin.add_swap(session, destination, swap)

    shown = _shown(services, view, period)
    return await _edit(request, services, csrf_token, shown, entered, _validated(work))


@router.post("/rota/swaps/{index}/delete", response_class=HTMLResponse)
async def delete_swap(
    index: int,
    request: Request,
    services: ServicesDep,
    csrf_token: Text = "",
    view: Text = "",
    period: Text = "",
) -> Response:
    """Removes a swap."""

    async def work(session: AsyncSession, destination: Destination) -> None:
        await rota_admin.remove_swap(session, destination, index)

    shown = _shown(services, view, period)
    return await _edit(request, services, csrf_token, shown, None, work)


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
