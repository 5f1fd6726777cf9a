"""Page rendering: Jinja2 templates with the translator and the CSRF token in context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.deps import CSRF_COOKIE, csrf_token, get_services, translator
from app.i18n import catalog
from app.models import User

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=ROOT / "templates")


def duration(seconds: float | None) -> str:
    """A response time as people read it: 45 s, 12 min, 1 h 04, 2 d 3 h."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


templates.env.filters["duration"] = duration
templates.env.filters["percent"] = percent


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
