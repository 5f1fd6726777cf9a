"""A chat widget's look per site (app.widget_look): the /accounts form, the managers' JSON API,
and the logo served to any page.

Office managers set their office's chat accounts, destination managers all of them; another
office's account, or one that is no chat, answers 404. A refused setting answers 4xx with its
reason in the manager's language, and nothing is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.responses import Response as FastResponse
from sqlmodel import select
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from app import quarantine, widget_look
from app.actions import ActionError
from app.deps import CsrfChecked, CurrentManager, ServicesDep, translator
from app.i18n import VISITOR_LANGUAGES
from app.models import Account, User, WidgetLogo
from app.services import Services
from app.web.accounts_pages import _csrf_ok, _manager, _page

router = APIRouter()

MAX_FORM_PART = 64 * 1024


async def _chat_account(services: Services, user: User, key: str) -> Account:
    """A chat account the manager may set, or 404 (never saying another office's exists)."""
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == key))).first()
    if account is None or account.channel != "webchat" or not quarantine.may_manage(user, account):
        raise ActionError("accounts.not_found", 404)
    return account


async def _shown(services: Services, account: Account) -> dict[str, Any]:
    async with services.db.session() as session:
        logo = await session.get(WidgetLogo, account.id)
    return {
        **widget_look.look_of(account).model_dump(),
        "text_color": widget_look.text_color(widget_look.look_of(account).color),
        "origins": account.allowed_origins,
        "logo": widget_look.logo_path(account, logo) if logo else "",
    }


def _refusal(request: Request, user: User, exc: widget_look.LookError) -> JSONResponse:
    detail = translator(request, user)(exc.code, **exc.params)
    return JSONResponse({"detail": detail, "code": exc.code}, status_code=exc.status)


@router.get("/api/accounts/{key}/widget")
async def get_widget(key: str, user: CurrentManager, services: ServicesDep) -> dict[str, Any]:
    """The chat account's widget: look, allowed sites (``origins``) and logo address."""
    return await _shown(services, await _chat_account(services, user, key))


@router.put("/api/accounts/{key}/widget", dependencies=[CsrfChecked])
async def put_widget(
    request: Request,
    key: str,
    user: CurrentManager,
    services: ServicesDep,
    body: dict[str, Any] = Body(...),  # noqa: B008 - FastAPI's way to take any JSON object
) -> Response:
    """Sets the widget's look (fields left out take their defaults) and, when ``origins`` is
    given, the sites allowed to embed it; 422 with the reason for a bad value."""
    account = await _chat_account(services, user, key)
    fields = dict(body)
    origins = fields.pop("origins", None)
    try:
        look = widget_look.check_look(fields)
        if origins is not None and not isinstance(origins, str):
            raise widget_look.LookError("widget_look.error.origin", value="")
        checked = widget_look.check_origins(origins) if origins is not None else None
    except widget_look.LookError as exc:
        return _refusal(request, user, exc)
    async with services.db.session() as session:
        stored = await session.get(Account, account.id)
        assert stored is not None
        await widget_look.do_save(session, stored, look, checked)
    return JSONResponse(await _shown(services, stored))


@router.put("/api/accounts/{key}/widget/logo", dependencies=[CsrfChecked])
async def put_logo(
    request: Request, key: str, user: CurrentManager, services: ServicesDep
) -> Response:
    """Sets the logo from the request's body (a PNG, JPEG or WebP image, read from its bytes;
    stored re-encoded as a small PNG)."""
    account = await _chat_account(services, user, key)
    limit = services.settings.widget_logo_max_bytes
    try:
        data = await _read_capped(request, limit)
        png = widget_look.check_logo(data, limit)
    except widget_look.LookError as exc:
        return _refusal(request, user, exc)
    async with services.db.session() as session:
        await widget_look.do_save_logo(services, session, account, png)
    return JSONResponse(await _shown(services, account))


@router.delete("/api/accounts/{key}/widget/logo", dependencies=[CsrfChecked])
async def delete_logo(key: str, user: CurrentManager, services: ServicesDep) -> Response:
    """Removes the logo (the widget's header then shows none)."""
    account = await _chat_account(services, user, key)
    async with services.db.session() as session:
        await widget_look.do_remove_logo(session, account)
    return JSONResponse(await _shown(services, account))


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (not read whole first)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise widget_look.LookError("widget_look.error.logo_too_big", 413, max=limit // 1024)
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/api/visitor/widget/{account_key}/logo")
async def public_logo(account_key: str, request: Request, services: ServicesDep) -> Response:
    """A chat widget's logo, for any page (a public image, no token): PNG, cached, 404 without
    one."""
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == account_key))).first()
        logo = None
        if account is not None and account.channel == "webchat" and account.active:
            logo = await session.get(WidgetLogo, account.id)
    if logo is None:
        raise ActionError("widget.error.no_logo", 404)
    etag = f'"{int(logo.updated_at.timestamp())}-{len(logo.data)}"'
    headers = {
        "etag": etag,
        # The address changes with the logo (?v=), so a browser may keep it a day; nosniff, a
        # strict CSP and cross-origin use come from app.web.headers and VisitorCors.
        "cache-control": "public, max-age=86400",
    }
    if request.headers.get("if-none-match") == etag:
        return FastResponse(status_code=304, headers=headers)
    return FastResponse(logo.data, media_type="image/png", headers=headers)


# ---- the /accounts page's form -----------------------------------------------------------
def _form_look(form: FormData) -> tuple[dict[str, Any], str]:
    """The look and the allowed sites as typed in the page's form."""

    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    data: dict[str, Any] = {
        "color": text("color"),
        "position": text("position") or "bottom-right",
        "titles": {lang: text(f"title_{lang}") for lang in VISITOR_LANGUAGES},
        "greetings": {lang: text(f"greeting_{lang}") for lang in VISITOR_LANGUAGES},
        "ask": text("ask") or "none",
        "ask_required": text("ask_required") == "true",
        "title_badge": text("title_badge") == "true",
    }
    return data, text("origins")


@router.post("/accounts/{key}/widget", response_class=HTMLResponse)
async def save_widget(request: Request, services: ServicesDep, key: str) -> Response:
    """The page's form: look, allowed sites, and a new logo (or its removal), all or nothing."""
    user = await _manager(request)
    if not isinstance(user, User):
        return user
    # A body far over the logo's cap is refused before it is spooled to disk.
    declared = request.headers.get("content-length", "")
    limit = services.settings.widget_logo_max_bytes + 40 * MAX_FORM_PART
    if declared.isdigit() and int(declared) > limit:
        t = translator(request, user)
        cap = services.settings.widget_logo_max_bytes // 1024
        error = t("widget_look.error.logo_too_big", max=cap)
        return await _page(request, services, user, error=error, status_code=413)
    form = await request.form(max_files=1, max_fields=40, max_part_size=MAX_FORM_PART)
    try:  # the uploaded file's spool is closed whatever happens
        return await _save_form(request, services, user, key, form)
    finally:
        await form.close()


async def _save_form(
    request: Request, services: Services, user: User, key: str, form: FormData
) -> Response:
    t = translator(request, user)
    token = form.get("csrf_token", "")
    if not _csrf_ok(request, token if isinstance(token, str) else ""):
        return PlainTextResponse(t("error.csrf"), status_code=403)
    try:
        account = await _chat_account(services, user, key)
    except ActionError:
        return await _page(request, services, user, error=t("accounts.not_found"), status_code=404)
    data, origins = _form_look(form)
    upload = form.get("logo")
    limit = services.settings.widget_logo_max_bytes
    try:
        look = widget_look.check_look(data)
        checked = widget_look.check_origins(origins)
        png = None
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            png = widget_look.check_logo(await upload.read(limit + 1), limit)
    except widget_look.LookError as exc:
        shown = {**data, "origins": origins, "key": key}
        reset = widget_look.edited.set(shown)
        try:
            return await _page(
                request, services, user, error=t(exc.code, **exc.params), status_code=exc.status
            )
        finally:
            widget_look.edited.reset(reset)
    async with services.db.session() as session:
        stored = await session.get(Account, account.id)
        assert stored is not None
        await widget_look.do_save(session, stored, look, checked)
        if png is not None:
            await widget_look.do_save_logo(services, session, stored, png)
        elif form.get("remove_logo") == "true":
            await widget_look.do_remove_logo(session, stored)
    where = quote(account.key, safe="")
    return RedirectResponse(f"/accounts?done=widget&key={where}#widget-{where}", status_code=303)
