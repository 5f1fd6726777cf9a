"""Satisfaction surveys (app.surveys): the widget's answer, the one-page form behind an e-mail or
X link, and CSAT as JSON and CSV for the dashboard (app.csat).

The public form needs no sign-in: the signed link is what makes the visitor the right person.
Its POST is also CSRF-checked (the double-submit cookie every form of ours uses: rendered into
the page, ``SameSite=Strict``), so another site cannot make a visitor's browser answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from app import csat, surveys
from app.actions import ActionError
from app.deps import CSRF_COOKIE, CurrentUser, ServicesDep, visitor_language
from app.i18n import gettext
from app.security import same_token
from app.surveys import SurveyLinkError
from app.web.dashboard_pages import FiltersQuery, Text, _asked, _period
from app.web.render import render
from app.web.visitor_api import Visitor

router = APIRouter()


# ---- the widget -----------------------------------------------------------------------------


@router.post("/api/visitor/survey")
async def answer_in_widget(
    visitor: Visitor,
    rating: Annotated[Any, Body()] = None,
    comment: Annotated[Any, Body()] = "",
) -> dict[str, Any]:
    """The chat visitor rates their conversation (1–5) with an optional comment, once."""
    answer = surveys.check_answer(rating, comment)
    services = visitor.services
    async with services.db.session() as session:
        conversation = await visitor.conversation(session)
        pending = await surveys.pending_for_chat(services, session, conversation)
    if pending is None or pending.id is None:
        raise ActionError("widget.error.survey_none", 404)
    survey = await surveys.do_answer(services, pending.id, answer)
    return {"id": survey.id, "rating": survey.rating, "answered_at": survey.answered_at}


# ---- the page behind a link -----------------------------------------------------------------


def _page(request: Request, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
    """survey.html in the visitor's language (one of the six), with the CSRF cookie."""

    def t(key: str, **params: Any) -> str:
        return gettext(lang, key, **params)

    response = render(
        request, "survey.html", status_code=status, t=t, lang=lang, catalog={}, **context
    )
    response.headers["content-language"] = lang
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/survey/{token}", response_class=HTMLResponse)
async def survey_page(request: Request, services: ServicesDep, token: str) -> Response:
    """The one-page form: a 1–5 rating and an optional comment; a clear page when the link
    is forged, already used or too old."""
    lang = visitor_language(request)
    try:
        survey = await surveys.survey_for_link(services, token)
    except SurveyLinkError as exc:
        return _page(request, lang, exc.status, problem=exc.code)
    if "lang" not in request.query_params:
        lang = survey.language or lang
    return _page(request, lang, token=token, max_comment=surveys.MAX_COMMENT)


@router.post("/survey/{token}", response_class=HTMLResponse)
async def survey_answer(
    request: Request,
    services: ServicesDep,
    token: str,
    # No length limits here: what is wrong is said on the page (check_answer), never as JSON;
    # the input guard caps the body's size (app.web.input_guard).
    rating: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Records the answer once; every refusal is a page saying why, and records nothing."""
    lang = visitor_language(request)
    if not same_token(request.cookies.get(CSRF_COOKIE), csrf_token):
        return _page(request, lang, 403, problem="visitor.survey.csrf", token=token)
    try:
        survey = await surveys.survey_for_link(services, token)
    except SurveyLinkError as exc:
        return _page(request, lang, exc.status, problem=exc.code)
    try:
        answer = surveys.check_answer(rating, comment)
    except ActionError:
        return _page(
            request,
            lang,
            422,
            token=token,
            max_comment=surveys.MAX_COMMENT,
            invalid="visitor.survey.invalid",
            comment=comment[: surveys.MAX_COMMENT],
        )
    assert survey.id is not None
    try:
        await surveys.do_answer(services, survey.id, answer)
    except ActionError as exc:  # answered or expired in the meantime
        code = "visitor.survey.expired" if exc.status == 410 else "visitor.survey.answered"
        return _page(request, lang, exc.status, problem=code)
    return _page(request, lang, thanks=True)


# ---- CSAT for the dashboard -----------------------------------------------------------------


@router.get("/api/metrics/csat")
async def csat_json(
    user: CurrentUser,
    services: ServicesDep,
    preset: Text = "7",
    first: Text = "",
    last: Text = "",
    channel: FiltersQuery = None,
    account_id: Text = "",
    office_id: Text = "",
    comments: Annotated[int, Query(ge=0, le=500)] = 50,
) -> dict[str, Any]:
    """CSAT of the period per account, office and adviser, with the newest comments."""
    chosen, first_day, last_day, filters = _asked(
        preset, first, last, channel, account_id, office_id
    )
    period, timezone = await _period(services, user, chosen, first_day, last_day)
    async with services.db.session() as session:
        report = await csat.report(session, user, period, filters, timezone, comments)
    return report.as_dict(period)


@router.get("/api/metrics/csat.csv")
async def csat_csv(
    user: CurrentUser,
    services: ServicesDep,
    kind: Literal["accounts", "offices", "advisers", "comments"] = "advisers",
    preset: Text = "30",
    first: Text = "",
    last: Text = "",
    channel: FiltersQuery = None,
    account_id: Text = "",
    office_id: Text = "",
) -> Response:
    """CSV of CSAT per account, office or adviser, or of every answer with its comment."""
    chosen, first_day, last_day, filters = _asked(
        preset, first, last, channel, account_id, office_id
    )
    period, timezone = await _period(services, user, chosen, first_day, last_day)
    async with services.db.session() as session:
        report = await csat.report(session, user, period, filters, timezone, None)
    return Response(
        csat.to_csv(report, kind),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="concierge-csat-{kind}.csv"'},
    )
