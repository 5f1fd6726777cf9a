"""Page rendering: Jinja2 templates with the translator and the CSRF token in context."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from app import timefmt
from app.deps import CSRF_COOKIE, csrf_token, get_services, translator
from app.i18n import catalog
from app.models import User

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=ROOT / "templates")


@pass_context
def _duration(context: Context, seconds: float | None) -> str:
    return timefmt.duration(seconds, context["lang"])


@pass_context
def _percent(context: Context, rate: float | None) -> str:
    return timefmt.percent(rate, context["lang"])


@pass_context
def _number(context: Context, value: int | float) -> str:
    return timefmt.number(value, context["lang"])


@pass_context
def _day(context: Context, day: date) -> str:
    return timefmt.day_label(day, context["lang"])


@pass_context
def _moment(context: Context, at: datetime | str | None, timezone: str) -> str:
    """A stored instant (or its ISO text, as connectors' statuses keep it) in local time."""
    if not at:
        return "—"
    instant = datetime.fromisoformat(at) if isinstance(at, str) else at
    return timefmt.moment(instant, timezone, context["lang"])


# Figures follow the page's language: the filters read it from the template's context.
templates.env.filters["duration"] = _duration
templates.env.filters["percent"] = _percent
templates.env.filters["number"] = _number
templates.env.filters["day"] = _day
templates.env.filters["moment"] = _moment


def render(
    request: Request,
    name: str,
    *,
    user: User | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    t = translator(request, user)
    token = csrf_token(request)
    services = get_services(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "t": t,
            "lang": t.language,
            "csrf_token": token,
            "user": user,
            "catalog": catalog(t.language),
            **context,
        },
        status_code=status_code,
    )
    response.headers["content-language"] = t.language
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=services.settings.cookie_secure,
            max_age=services.settings.session_max_age,
        )
    return response
