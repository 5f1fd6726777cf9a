"""The weekly report (app/weekly_report.py): a printable page, its PDF and its HTML download.

``?week=2026-W48`` (ISO week; default: the last complete week). Rights as the dashboard's: a
destination manager reads the destination, an office manager their office's rows; an adviser
gets 403. An unreadable or unfinished week is a 422 page saying why, in the reader's language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import weekly_report
from app.dashboard import DashboardError
from app.deps import ServicesDep, optional_user, translator
from app.i18n import Translator
from app.models import User
from app.services import Services
from app.web.render import render, templates
from app.weekly_report import Week, WeeklyReport

router = APIRouter()

WeekQuery = Annotated[str, Query(max_length=64)]


async def _build(services: Services, user: User, week_text: str) -> WeeklyReport:
    weekly_report.may_read(user)
    now = services.clock.now()
    async with services.db.session() as session:
        _, timezone = await weekly_report.destination_zone(session, user.destination_id)
        week = Week.parse(week_text) if week_text else Week.last_complete(now, timezone)
        week.check_over(now, timezone)
        return await weekly_report.build(session, user, week)


def document(report: WeeklyReport, t: Translator, intro: str = "", link: str = "") -> str:
    """The report as one standalone HTML document (the download and the e-mail's HTML part)."""
    return templates.env.get_template("weekly_report/document.html").render(
        t=t, lang=t.language, intro=intro, link=link, **weekly_report.context(report, t)
    )


async def _answer(request: Request, services: Services, week: str, kind: str) -> Response:
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    t = translator(request, user)
    try:
        report = await _build(services, user, week)
    except DashboardError as exc:
        asked: Week | None = None
        try:
            asked = Week.parse(week) if week else None
        except DashboardError:
            asked = None
        return render(
            request,
            "weekly_report.html",
            user=user,
            report=None,
            week=asked,
            next_week=None,
            error=t(exc.code),
            status_code=exc.status,
        )
    disposition = f'attachment; filename="{report.filename}.{kind}"'
    if kind == "pdf":
        return Response(
            weekly_report.pdf(report, t),
            media_type="application/pdf",
            headers={"content-disposition": disposition},
        )
    if kind == "html":
        return HTMLResponse(
            document(report, t),
            headers={"content-disposition": disposition, "content-language": t.language},
        )
    following = report.week.shifted(1)
    return render(
        request,
        "weekly_report.html",
        user=user,
        report=report,
        week=report.week,
        next_week=following if following.period(report.timezone).end <= services.clock.now()
        else None,
        hour=services.settings.weekly_report_hour,
        **{k: v for k, v in weekly_report.context(report, t).items() if k != "report"},
    )  # fmt: skip


@router.get("/dashboard/weekly", response_class=HTMLResponse)
async def weekly_page(request: Request, services: ServicesDep, week: WeekQuery = "") -> Response:
    """The week's report as a printable page."""
    return await _answer(request, services, week, "page")


@router.get("/dashboard/weekly.pdf")
async def weekly_pdf(request: Request, services: ServicesDep, week: WeekQuery = "") -> Response:
    """The week's report as a PDF download."""
    return await _answer(request, services, week, "pdf")


@router.get("/dashboard/weekly.html", response_class=HTMLResponse)
async def weekly_html(request: Request, services: ServicesDep, week: WeekQuery = "") -> Response:
    """The week's report as a standalone HTML download."""
    return await _answer(request, services, week, "html")
