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

from app import csat, label_stats
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
from app.rollups import csv_chunks, csv_header
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


FiltersQuery = Annotated[str | None, Query(max_length=16)]
# Read as text and parsed here, so a malformed query gets a 422 in the manager's language
# (FastAPI's own validation answers in English).
Text = Annotated[str, Query(max_length=40)]


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
    try:
        return int(value)
    except ValueError:
        raise DashboardError("error.bad_filter") from None


def _asked(
    preset: str, first: str, last: str, channel: str | None, account_id: str, office_id: str
) -> tuple[Preset, date | None, date | None, Filters]:
    """The period and filters of a dashboard query, checked."""
    if preset not in get_args(Preset):
        raise DashboardError("error.bad_preset")
    filters = Filters(channel or None, _id(account_id), _id(office_id))
    return cast(Preset, preset), _day(first), _day(last), filters


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(
    request: Request,
    services: ServicesDep,
    preset: Text = "7",
    first: Text = "",
    last: Text = "",
    channel: FiltersQuery = None,
    account_id: Text = "",
    office_id: Text = "",
) -> Response:
    """Response times for a period, compared with the period before."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    try:
        chosen, first_day, last_day, filters = _asked(
            preset, first, last, channel, account_id, office_id
        )
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
        )
    async with services.db.session() as session:
        accounts = (
            await session.exec(select(Account).where(Account.destination_id == user.destination_id))
        ).all()
        offices = (
            await session.exec(select(Office).where(Office.destination_id == user.destination_id))
        ).all()
        asked = await label_stats.label_counts(session, user, current.period, filters, timezone)
        satisfaction = await csat.report(session, user, current.period, filters, timezone)
    return render(
        request,
        "dashboard.html",
        user=user,
        report=current,
        previous=previous,
        preset=preset,
        filters=filters,
        accounts=accounts,
        offices=offices,
        trend=_trend_points(current),
        heat_max=max((n for row in current.heat for n, _ in row), default=0),
        query=request.url.query,
        timezone=timezone,
        labels=label_stats.table(asked, current.period),
        csat=satisfaction,
    )


def _trend_points(current: Report) -> dict[str, Any]:
    """The median first response per day as SVG polyline points (drawn by the template)."""
    values = [m for _, m, _ in current.trend if m is not None]
    top = max(values, default=0) or 1
    width, height = 600, 160
    step = width / max(1, len(current.trend) - 1)
    points = [
        f"{i * step:.1f},{height - (m / top) * (height - 10):.1f}"
        for i, (_, m, _) in enumerate(current.trend)
        if m is not None
    ]
    return {"points": " ".join(points), "top": top, "width": width, "height": height}


@router.get("/api/metrics")
async def metrics_json(
    user: CurrentUser,
    services: ServicesDep,
    preset: Text = "7",
    first: Text = "",
    last: Text = "",
    channel: FiltersQuery = None,
    account_id: Text = "",
    office_id: Text = "",
) -> dict[str, Any]:
    """The dashboard's figures as JSON (seconds; rates between 0 and 1)."""
    chosen, first_day, last_day, filters = _asked(
        preset, first, last, channel, account_id, office_id
    )
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
            {"day": d.isoformat(), "median_seconds": m, "conversations": n}
            for d, m, n in current.trend
        ],
        "heat": [[{"turns": n, "median_seconds": m} for n, m in row] for row in current.heat],
        # Satisfaction (app.csat; also /api/metrics/csat and its CSV)
        "csat": satisfaction.as_dict(current.period),
    }


@router.get("/api/metrics/export.csv")
async def metrics_csv(
    user: CurrentUser,
    services: ServicesDep,
    kind: Literal["conversations", "accounts", "offices", "advisers"] = "conversations",
    preset: Text = "30",
    first: Text = "",
    last: Text = "",
    channel: FiltersQuery = None,
    account_id: Text = "",
    office_id: Text = "",
) -> Response:
    """CSV: one row per response turn with all its timings, or an aggregated table."""
    chosen, first_day, last_day, filters = _asked(
        preset, first, last, channel, account_id, office_id
    )
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
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["key", "label", "conversations", "replied", "reply_rate", "mean_seconds",
               "median_seconds", "p90_seconds", "median_duty_seconds", "within_target"]  # fmt: skip
    writer.writerow(columns)
    for row in table:
        data = row.as_dict()
        writer.writerow([_blank(data[c]) for c in columns])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/dashboard/labels.csv")
async def labels_csv(
    user: CurrentUser,
    services: ServicesDep,
    preset: Text = "7",
    first: Text = "",
    last: Text = "",
    channel: FiltersQuery = None,
    account_id: Text = "",
    office_id: Text = "",
) -> Response:
    """CSV of what visitors ask about: conversations started in the period per month, office
    and label (``month,office_id,office,label_id,label,conversations``), only those the caller
    may see; a cell a spreadsheet would take for a formula is written after a quote."""
    chosen, first_day, last_day, filters = _asked(
        preset, first, last, channel, account_id, office_id
    )
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


def _blank(value: object) -> object:
    return "" if value is None else value


@router.get("/api/metrics/live")
async def live_tiles(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Today's tiles: waiting now, oldest waiting, answered today, median first response."""
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
    }
