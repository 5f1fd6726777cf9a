"""The managers' dashboard: response times per account, office on duty and adviser; trend; heat
map; live tiles; CSV and JSON exports."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, cast, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from sqlalchemy import func
from sqlmodel import col, select

from app import csat, label_stats, timefmt
from app.dashboard import (
    DashboardError,
    Filters,
    Period,
    Report,
    Row,
    account_tables,
    adviser_table,
    day_pieces,
    report,
    scope,
    scope_office,
    totals,
)
from app.deps import CurrentUser, ServicesDep, optional_user, translator
from app.models import (
    Account,
    Conversation,
    ConversationStatus,
    Destination,
    Office,
    User,
)
from app.rollups import cell, csv_chunks, csv_header, seconds
from app.services import Services
from app.web.render import render

router = APIRouter()

Preset = Literal["today", "7", "30", "custom"]


async def error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DashboardError)
    # In the language the manager chose, not only the browser's.
    t = translator(request, await optional_user(request))
    return JSONResponse({"detail": t(exc.code), "code": exc.code}, status_code=exc.status)


async def _period(
    services: Services, user: User, preset: Preset, first: date | None, last: date | None
) -> tuple[Period, str]:
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
    timezone = destination.timezone if destination else "Europe/Paris"
    today = services.clock.now().astimezone(ZoneInfo(timezone)).date()
    if preset == "custom":
        if first is None or last is None:
            raise DashboardError("error.period_missing")
        return Period.of(first, last, timezone), timezone
    days = {"today": 1, "7": 7, "30": 30}[preset]
    return Period.of(today - timedelta(days=days - 1), today, timezone), timezone


async def _report(
    services: Services,
    user: User,
    preset: Preset,
    first: date | None,
    last: date | None,
    filters: Filters,
) -> tuple[Report, Row, str]:
    """The period's figures, and the previous period's totals to compare with."""
    period, timezone = await _period(services, user, preset, first, last)
    async with services.db.session() as session:
        current = await report(session, user, period, filters, timezone)
        previous = await totals(session, user, period.previous(timezone), filters, timezone)
    return current, previous, timezone


# The query parameters as other pages declare them (app.web.survey_pages); this module reads
# its own from the request so that a bad value is answered in the manager's language.
FiltersQuery = Annotated[str | None, Query(max_length=16)]
Text = Annotated[str, Query(max_length=40)]
CHANNELS = ("webchat", "email", "twitter")
ASKED = ("preset", "first", "last", "channel", "account_id", "office_id")
MAX_VALUE = 40  # no value of the form is longer


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DashboardError("error.bad_date") from None


def _id(value: str) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise DashboardError("error.bad_filter")
    return int(value)


def _values(request: Request, defaults: dict[str, str]) -> dict[str, str]:
    """The form's values as sent; an empty value (``account_id=``, "All accounts") means all."""
    query = request.query_params
    return {name: query.get(name, defaults.get(name, "")).strip() for name in ASKED}


def _checked(values: dict[str, str]) -> tuple[Preset, date | None, date | None, Filters]:
    """The period and filters of a dashboard query, checked (read as text and checked here,
    so a bad value gets a message in the manager's language, never a framework error)."""
    if any(len(v) > MAX_VALUE for v in values.values()):
        raise DashboardError("error.bad_filter")
    preset = values["preset"] or "7"
    if preset not in get_args(Preset):
        raise DashboardError("error.bad_preset")
    channel = values["channel"] or None
    if channel is not None and channel not in CHANNELS:
        raise DashboardError("error.bad_channel")
    filters = Filters(channel, _id(values["account_id"]), _id(values["office_id"]))
    return cast(Preset, preset), _day(values["first"]), _day(values["last"]), filters


def _asked(
    preset: str, first: str, last: str, channel: str | None, account_id: str, office_id: str
) -> tuple[Preset, date | None, date | None, Filters]:
    """The period and filters of a dashboard query given as parameters, checked."""
    values = {"preset": preset, "first": first, "last": last, "channel": channel or "",
              "account_id": account_id, "office_id": office_id}  # fmt: skip
    return _checked({k: v.strip() for k, v in values.items()})


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, services: ServicesDep) -> Response:
    """Response times for a period, compared with the period before. A bad value shows the page
    again with the message (never a raw error)."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    values = _values(request, {"preset": "7"})
    async with services.db.session() as session:
        accounts = (
            await session.exec(select(Account).where(Account.destination_id == user.destination_id))
        ).all()
        offices = (
            await session.exec(select(Office).where(Office.destination_id == user.destination_id))
        ).all()
    try:
        chosen, first_day, last_day, filters = _checked(values)
        current, previous, timezone = await _report(
            services, user, chosen, first_day, last_day, filters
        )
    except DashboardError as exc:
        t = translator(request, user)
        return render(
            request,
            "dashboard.html",
            user=user,
            error=t(exc.code),
            status_code=exc.status,
            report=None,
            asked=values,
            accounts=accounts,
            offices=offices,
        )
    async with services.db.session() as session:
        asked = await label_stats.label_counts(session, user, current.period, filters, timezone)
        satisfaction = await csat.report(session, user, current.period, filters, timezone)
    t = translator(request, user)
    return render(
        request,
        "dashboard.html",
        user=user,
        report=current,
        previous=previous,
        preset=chosen,
        filters=filters,
        asked=values,
        accounts=accounts,
        offices=offices,
        trend=trend_chart(current, t.language),
        heat_max=max((n for row in current.heat for n, _ in row), default=0),
        query=request.url.query,
        timezone=timezone,
        labels=label_stats.table(asked, current.period),
        csat=satisfaction,
    )


# Steps of the chart's vertical axis, in seconds: the first giving at most five gridlines.
_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def trend_chart(current: Report, language: str) -> dict[str, Any]:
    """The daily trend as SVG coordinates: one line for the median first response on duty, one
    for the wall-clock median, dated ticks along x, durations along y (drawn by the template)."""
    width, height = 480, 240
    left, right, top, bottom = 76, 16, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    days = current.days
    values = [v for d in days for v in (d.median, d.median_duty) if v is not None]
    peak = max(values, default=0.0)
    step = next((s for s in _STEPS if s * 5 >= peak), 86400 * (int(peak // (86400 * 5)) + 1))
    ceiling = max(step, step * -(-int(peak) // step))
    span = max(1, len(days) - 1)

    def x(i: int) -> float:
        return left + (i * plot_w / span if len(days) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h - value / ceiling * plot_h

    def line(pick: Any) -> str:
        return " ".join(
            f"{x(i):.1f},{y(v):.1f}" for i, d in enumerate(days) if (v := pick(d)) is not None
        )

    every = max(1, -(-len(days) // 8))  # at most eight dates along the axis
    fmt = "%d/%m"
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": top + plot_h,
        "duty": line(lambda d: d.median_duty),
        "wall": line(lambda d: d.median),
        "dots_duty": [
            (round(x(i), 1), round(y(d.median_duty), 1))
            for i, d in enumerate(days)
            if d.median_duty is not None
        ],
        "y_ticks": [
            (round(y(v), 1), timefmt.duration(v, language))
            for v in range(0, int(ceiling) + 1, step)
        ],
        # Counted from the last day, so that it is always dated; every other one is left out
        # on a phone (``alt``).
        "x_ticks": [
            (round(x(i), 1), d.day.strftime(fmt), (len(days) - 1 - i) // every % 2 == 1)
            for i, d in enumerate(days)
            if (len(days) - 1 - i) % every == 0
        ],
    }


def _common(
    request: Request, defaults: dict[str, str]
) -> tuple[Preset, date | None, date | None, Filters]:
    return _checked(_values(request, defaults))


@router.get("/api/metrics")
async def metrics_json(
    request: Request, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """The dashboard's figures as JSON (seconds; rates between 0 and 1; each first-response
    figure in wall-clock seconds and in on-duty seconds). Definitions: docs/metrics.md."""
    chosen, first_day, last_day, filters = _common(request, {"preset": "7"})
    current, previous, timezone = await _report(
        services, user, chosen, first_day, last_day, filters
    )
    async with services.db.session() as session:
        satisfaction = await csat.report(session, user, current.period, filters, timezone)

    def rows(items: list[Row]) -> list[dict[str, object]]:
        return [r.as_dict() for r in items]

    return {
        "period": {
            "first": current.period.first.isoformat(),
            "last": current.period.last.isoformat(),
        },
        "total": current.total.as_dict(),
        "previous_total": previous.as_dict(),
        "accounts": rows(current.accounts),
        "offices": rows(current.offices),
        "advisers": rows(current.advisers),
        "trend": [
            {
                "day": d.day.isoformat(),
                "median_seconds": d.median,
                "median_duty_seconds": d.median_duty,
                "conversations": d.conversations,
            }
            for d in current.days
        ],
        "heat": [
            [
                {"turns": n, "median_seconds": m, "median_duty_seconds": duty}
                for (n, m), duty in zip(row, duty_row, strict=True)
            ]
            for row, duty_row in zip(current.heat, current.heat_duty, strict=True)
        ],
        # Satisfaction (app.csat; also /api/metrics/csat and its CSV)
        "csat": satisfaction.as_dict(current.period),
    }


# The aggregated CSVs: the row's id and name, then these figures (seconds as whole numbers).
TABLE_COLUMNS = (
    "conversations", "replied", "reply_rate", "mean_seconds", "mean_duty_seconds",
    "median_seconds", "median_duty_seconds", "p90_seconds", "p90_duty_seconds", "within_target",
    "within_target_count", "later_turns", "later_replied", "later_median_seconds",
    "later_median_duty_seconds", "answered_by_another_office",
)  # fmt: skip
ADVISER_COLUMNS = (
    "conversations_first_answered", "mean_seconds", "mean_duty_seconds", "median_seconds",
    "median_duty_seconds", "p90_seconds", "p90_duty_seconds", "within_target",
    "within_target_count", "later_replied", "later_median_seconds", "later_median_duty_seconds",
)  # fmt: skip


def _csv_value(name: str, value: object) -> object:
    if value is None:
        return ""
    if name.endswith("_seconds") and isinstance(value, float | int):
        return seconds(value)
    if isinstance(value, float):  # a rate
        return f"{value:.4f}"
    return value


def table_csv(kind: str, table: list[Row]) -> str:
    """An aggregated table as CSV: ``<kind>_id``, the name, then the figures."""
    key = {"accounts": "account", "offices": "office", "advisers": "adviser"}[kind]
    columns = ADVISER_COLUMNS if kind == "advisers" else TABLE_COLUMNS
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"{key}_id", key, *columns])
    for row in table:
        data = row.as_dict()
        writer.writerow([row.key, cell(row.label), *(_csv_value(c, data[c]) for c in columns)])
    return out.getvalue()


@router.get("/api/metrics/export.csv")
async def metrics_csv(
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    kind: Literal["conversations", "accounts", "offices", "advisers"] = "conversations",
) -> Response:
    """CSV: one row per response turn with all its timings, or an aggregated table."""
    chosen, first_day, last_day, filters = _common(request, {"preset": "30"})
    headers = {"content-disposition": f'attachment; filename="concierge-{kind}.csv"'}
    if kind == "conversations":
        period, timezone = await _period(services, user, chosen, first_day, last_day)
        async with services.db.session() as session:
            seen = await scope(session, user, filters, timezone)
            chunks = await csv_chunks(session, seen.where, period.first, period.last, timezone)
        return StreamingResponse(
            _stream([csv_header(), *chunks]),
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )
    period, timezone = await _period(services, user, chosen, first_day, last_day)
    async with services.db.session() as session:  # only the table asked for
        seen = await scope(session, user, filters, timezone)
        found = await day_pieces(session, seen, period)
    if kind == "advisers":
        table = adviser_table(seen, found)
    else:
        tables = account_tables(seen, found)
        table = tables.accounts if kind == "accounts" else tables.offices
    return Response(table_csv(kind, table), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/dashboard/labels.csv")
async def labels_csv(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    """CSV of what visitors ask about: conversations started in the period per month, office
    and label (``month,office_id,office,label_id,label,conversations``), only those the caller
    may see; a cell a spreadsheet would take for a formula is written after a quote."""
    chosen, first_day, last_day, filters = _common(request, {"preset": "7"})
    period, timezone = await _period(services, user, chosen, first_day, last_day)
    async with services.db.session() as session:
        await scope(session, user, filters, timezone)  # unknown or foreign filters refused
        rows = await label_stats.label_counts(session, user, period, filters, timezone)
    return Response(
        label_stats.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="concierge-labels.csv"'},
    )


async def _stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@router.get("/api/metrics/live")
async def live_tiles(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Today's tiles: waiting now, oldest waiting, answered today, median first response (wall
    clock, and on duty)."""
    office_scope = scope_office(user, None)
    now = services.clock.now()
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
        timezone = destination.timezone if destination else "Europe/Paris"
        waiting = select(func.count(), func.min(Conversation.waiting_since)).where(
            Conversation.destination_id == user.destination_id,
            Conversation.status == ConversationStatus.OPEN,
            col(Conversation.waiting_since).is_not(None),
        )
        if office_scope is not None:
            waiting = waiting.where(Conversation.office_id == office_scope)
        count, oldest = (await session.exec(waiting)).one()
        today = now.astimezone(ZoneInfo(timezone)).date()
        period = Period.of(today, today, timezone)
        current = await totals(session, user, period, Filters(), timezone)
    oldest_at: datetime | None = oldest
    return {
        "waiting": int(count or 0),
        "oldest_waiting_seconds": (now - oldest_at).total_seconds() if oldest_at else None,
        "answered_today": current.replied,
        "median_today_seconds": current.median,
        "median_today_duty_seconds": current.median_duty,
    }
