"""Pages of the visitor's data: the privacy notice per destination (public, in the six visitor
languages), its editor and the audit log (destination managers only, 403 for anyone else)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import audit, visitor_data_notice
from app.actions import ActionError
from app.deps import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    ServicesDep,
    language_for,
    optional_user,
    visitor_language,
)
from app.i18n import LANGUAGES, VISITOR_LANGUAGES, gettext
from app.models import Destination, Role, User
from app.security import same_token
from app.web.render import render

router = APIRouter()
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ROW_ID = re.compile(r"[0-9]{1,18}")
PAGE = re.compile(r"[1-9][0-9]{0,5}")
LANGUAGE_NAMES = {
    "fr": "Français",
    "en": "English",
    "de": "Deutsch",
    "nl": "Nederlands",
    "es": "Español",
    "it": "Italiano",
}


class VisitorTranslator:
    """Like app.i18n.Translator, in any of the six visitor languages (staff keys of the page's
    frame fall back to English)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in VISITOR_LANGUAGES else "en"

    def __call__(self, key: str, **params: Any) -> str:
        return gettext(self.language, key, **params)


def _page_language(request: Request, user: User | None) -> str:
    """``?lang=`` among the six, else the language a signed-in user (or the top bar's choice)
    reads the staff pages in, else the browser's among the six."""
    requested = request.query_params.get("lang", "")[:16].lower().split("-")[0]
    if requested in VISITOR_LANGUAGES:
        return requested
    if user is not None or request.cookies.get(LANGUAGE_COOKIE) in LANGUAGES:
        return language_for(request, user)
    return visitor_language(request)


async def _notice(
    request: Request, services: ServicesDep, destination: Destination | None, user: User | None
) -> Response:
    lang = _page_language(request, user)
    own = visitor_data_notice.texts(destination).get(lang, "")
    response = render(
        request,
        "privacy.html",
        user=user,
        t=VisitorTranslator(lang),
        lang=lang,
        destination=destination,
        paragraphs=visitor_data_notice.paragraphs(own),
        retention_days=services.settings.retention_days,
        forget_hours=services.settings.forget_after_hours,
        languages=LANGUAGE_NAMES,
        status_code=200 if destination is not None else 404,
    )
    response.headers["content-language"] = lang
    return response


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_page(request: Request, services: ServicesDep) -> Response:
    """What is kept about visitors, why, how long, who sees it and their rights: the signed-in
    user's destination, else the first one (``?lang=`` in fr, en, de, nl, es, it)."""
    user = await optional_user(request)
    async with services.db.session() as session:
        destination = await visitor_data_notice.default(
            session, user.destination_id if user else None
        )
    return await _notice(request, services, destination, user)


def _manager(user: User | None) -> bool:
    return user is not None and user.role == Role.DESTINATION_MANAGER


@router.get("/privacy/edit", response_class=HTMLResponse)
async def privacy_edit_page(request: Request, services: ServicesDep) -> Response:
    """The destination manager's editor of the privacy notice, one text per language."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if not _manager(user):
        return render(request, "privacy_edit.html", user=user, forbidden=True, status_code=403)
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
    return _editor(request, user, destination, visitor_data_notice.texts(destination))


def _editor(
    request: Request,
    user: User,
    destination: Destination | None,
    texts: dict[str, str],
    *,
    preview: bool = False,
    error: str = "",
    status_code: int = 200,
) -> Response:
    shown = {lang: visitor_data_notice.paragraphs(text) for lang, text in texts.items() if text}
    return render(
        request,
        "privacy_edit.html",
        user=user,
        destination=destination,
        texts=texts,
        preview=shown if preview else None,
        languages=LANGUAGE_NAMES,
        max_chars=visitor_data_notice.MAX_CHARS,
        done=request.query_params.get("done") == "saved",
        error=error,
        status_code=status_code,
    )


@router.post("/privacy/edit", response_class=HTMLResponse)
async def privacy_edit(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "save",
) -> Response:
    """Previews (``action=preview``) or saves the privacy texts (``text_<lang>`` fields; blank =
    the default text); longer than the cap is refused whole (422), nothing stored."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if not _manager(user):
        return render(request, "privacy_edit.html", user=user, forbidden=True, status_code=403)
    if not same_token(request.cookies.get(CSRF_COOKIE), csrf_token):
        return render(request, "privacy_edit.html", user=user, forbidden=True, status_code=403)
    form = await request.form()
    # Text fields only: a file sent in their place counts as empty.
    raw = {
        lang: value if isinstance(value := form.get(f"text_{lang}"), str) else ""
        for lang in VISITOR_LANGUAGES
    }
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
        try:
            kept = visitor_data_notice.check(raw)
        except ActionError as exc:
            return _editor(request, user, destination, raw, error=exc.code, status_code=422)
        if action == "preview":
            return _editor(request, user, destination, raw, preview=True)
        assert destination is not None
        await visitor_data_notice.save(session, destination, kept)
    return RedirectResponse("/privacy/edit?done=saved", status_code=303)


@router.get("/privacy/{slug}", response_class=HTMLResponse)
async def destination_privacy_page(slug: str, request: Request, services: ServicesDep) -> Response:
    """The privacy notice of one destination (the widget's link names its destination)."""
    user = await optional_user(request)
    async with services.db.session() as session:
        destination = await visitor_data_notice.by_slug(session, slug)
    return await _notice(request, services, destination, user)


def _day(value: str) -> date | None:
    if not value:
        return None
    if not DAY.fullmatch(value):
        raise ActionError("audit.error.date", 422)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ActionError("audit.error.date", 422) from None
    if not date(2000, 1, 1) <= day <= date(9998, 12, 31):  # a day after it must exist too
        raise ActionError("audit.error.date", 422)
    return day


def _filters(request: Request, timezone: str) -> tuple[audit.Filters, dict[str, str]]:
    """The page's filters from its query (dates are the destination's local days)."""
    q = request.query_params
    raw = {k: q.get(k, "")[:40] for k in ("from", "to", "actor", "action")}
    zone = ZoneInfo(timezone)
    first, last = _day(raw["from"]), _day(raw["to"])
    start = datetime.combine(first, time(), zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    actor: int | None = None
    if raw["actor"] == "visitor":
        actor = 0
    elif raw["actor"]:
        if not ROW_ID.fullmatch(raw["actor"]):
            raise ActionError("audit.error.actor", 422)
        actor = int(raw["actor"])
    if raw["action"] and raw["action"] not in audit.ACTIONS:
        raise ActionError("audit.error.action", 422)
    return audit.Filters(start, end, actor, raw["action"]), raw


async def _audit_scope(
    request: Request, services: ServicesDep
) -> tuple[User | None, Destination | None, Response | None]:
    user = await optional_user(request)
    if user is None:
        return None, None, RedirectResponse("/login", status_code=303)
    if not _manager(user):
        return user, None, render(request, "audit.html", user=user, forbidden=True, status_code=403)
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
    return user, destination, None


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, services: ServicesDep) -> Response:
    """The audit log of reads and erasures of visitor data (destination managers), newest
    first, filtered by period, actor and action, 50 a page."""
    user, destination, refused = await _audit_scope(request, services)
    if refused is not None or user is None or destination is None:
        return refused or RedirectResponse("/login", status_code=303)
    asked = request.query_params.get("page", "1")
    page = int(asked) if PAGE.fullmatch(asked) else 1  # anything else: the first page
    async with services.db.session() as session:
        actors = await audit.actors(session, user.destination_id)
        try:
            filters, raw = _filters(request, destination.timezone)
        except ActionError as exc:
            return render(
                request, "audit.html", user=user, rows=[], actors=actors, raw={},
                actions=audit.ACTIONS, error=exc.code, timezone=destination.timezone,
                page=1, more=False, query="", status_code=422,
            )  # fmt: skip
        rows = await audit.entries(
            session, user.destination_id, filters,
            offset=(page - 1) * audit.PAGE_SIZE, limit=audit.PAGE_SIZE + 1,
        )  # fmt: skip
    names = {a.id: a.name for a in actors if a.id is not None}
    query = {k: v for k, v in raw.items() if v}
    return render(
        request,
        "audit.html",
        user=user,
        rows=rows[: audit.PAGE_SIZE],
        names=names,
        actors=actors,
        actions=audit.ACTIONS,
        raw=raw,
        timezone=destination.timezone,
        page=page,
        more=len(rows) > audit.PAGE_SIZE,
        query=urlencode(query),
        error="",
    )


@router.get("/audit.csv")
async def audit_csv(request: Request, services: ServicesDep) -> Response:
    """The audit log's entries passing the page's filters, as CSV (UTC times)."""
    user, destination, refused = await _audit_scope(request, services)
    if refused is not None or user is None or destination is None:
        return refused or RedirectResponse("/login", status_code=303)
    filters, _ = _filters(request, destination.timezone)
    async with services.db.session() as session:
        rows = await audit.entries(session, user.destination_id, filters, limit=None)
        names = {a.id: a.name for a in await audit.actors(session, user.destination_id)}
    visitor = gettext(language_for(request, user), "audit.actor.visitor")
    return Response(
        audit.to_csv(rows, {k: v for k, v in names.items() if k is not None}, visitor),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="audit.csv"',
            "cache-control": "no-store",
        },
    )
