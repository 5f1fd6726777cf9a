"""Accounts for managers: each connector's status in the reader's language and time zone, each
account's name and whether it is active, the out-of-hours automatic replies of each account, and
the quarantine (download, retry, dismiss).

Office managers see and edit their office's accounts only, destination managers all of them;
an account or an item of another office answers 404, never revealing it exists.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import func
from sqlmodel import col, select

from app import (
    auto_reply,
    destinations,
    offline,
    quarantine,
    repository,
    timefmt,
    widget_look,
)
from app.actions import ActionError
from app.channels import read_status
from app.deps import (
    CSRF_COOKIE,
    CSRF_HEADER,
    CsrfChecked,
    CurrentManager,
    RowId,
    ServicesDep,
    optional_user,
    translator,
)
from app.i18n import LANGUAGES, Translator, catalog, gettext
from app.models import Account, DeliveryStatus, Destination, Direction, Message, Office, Role, User
from app.security import same_token
from app.services import Services
from app.web.render import render

router = APIRouter()

# Attempts that failed and may have gone out on a later try: the page counts, from the stored
# messages, the replies whose final state is failed instead ("failed").
ATTEMPT_COUNTERS = frozenset({"send_failed", "send_failures"})
_UTC_HHMM = re.compile(r"(\d{2}):(\d{2}) UTC")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
Text = Annotated[str, Form(max_length=2000)]
Token = Annotated[str, Form(max_length=200)]


def _local(value: str, timezone: str, language: str, now: datetime) -> str:
    """A time a connector wrote in UTC ("21:30 UTC", an ISO instant) in the destination's time."""
    zone = ZoneInfo(timezone)
    match = _UTC_HHMM.fullmatch(value)
    if match:
        at = now.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        if at < now - timedelta(hours=12):  # "00:10 UTC" written at 23:55 is tomorrow's
            at += timedelta(days=1)
        return at.astimezone(zone).strftime("%H:%M")
    if _ISO.match(value):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.utcoffset() is not None:
            return timefmt.moment(instant, timezone, language)
    return value


def say_status(
    t: Translator, status: dict[str, Any], timezone: str | None = None, now: datetime | None = None
) -> tuple[str, str]:
    """A connector's published status (codes and parameters) as the manager reads it, times in
    ``timezone`` when given (else as written). A status without codes shows its ``detail``."""
    known = catalog(t.language)
    now = now or datetime.now(ZoneInfo("UTC"))
    state = str(status.get("state", ""))
    state_text = t(f"accounts.state.{state}") if f"accounts.state.{state}" in known else state
    notes = status.get("notes") or []
    if not notes:
        return state_text, str(status.get("detail", ""))
    parts: list[str] = []
    for note in notes:
        key = f"connector.{note.get('code', '')}"
        params = {
            name: _local(str(value), timezone, t.language, now) if timezone else str(value)
            for name, value in (note.get("params") or {}).items()
        }
        try:
            text = t(key, **params) if key in known else t("connector.other")
        except (KeyError, IndexError):  # a parameter the connector did not give
            text = t("connector.other")
        scope = note.get("scope") or ""
        if scope:
            scope_key = f"connector.scope.{scope}"
            text = f"{t(scope_key) if scope_key in known else scope} — {text}"
        parts.append(text)
    return state_text, " ; ".join(parts) if t.language == "fr" else "; ".join(parts)


def say_counters(t: Translator, counters: dict[str, int]) -> str:
    """The counters on one line: "received: 1,234, sent: 56"."""
    separator = "\u00a0: " if t.language == "fr" else ": "
    return ", ".join(f"{label}{separator}{value}" for label, value in counter_list(t, counters))


def counter_list(t: Translator, counters: dict[str, int]) -> list[tuple[str, str]]:
    """Each counter as (label, number with the language's thousands separator); the attempts
    that failed are left out (the stored replies that failed are counted instead)."""
    known = catalog(t.language)
    return [
        (
            t(f"accounts.counter.{name}") if f"accounts.counter.{name}" in known else name,
            timefmt.number(int(value), t.language),
        )
        for name, value in counters.items()
        if name not in ATTEMPT_COUNTERS and isinstance(value, int | float)
    ]


def say_size(t: Translator, size: int) -> str:
    if size < 1024:
        return t("accounts.quarantine.bytes", size=timefmt.number(size, t.language))
    if size < 1024 * 1024:
        return t("accounts.quarantine.kilobytes", size=timefmt.number(size / 1024, t.language, 1))
    megabytes = timefmt.number(size / (1024 * 1024), t.language, 1)
    return t("accounts.quarantine.megabytes", size=megabytes)


async def _manager(request: Request) -> User | Response:
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        return PlainTextResponse(translator(request, user)("error.managers_only"), status_code=403)
    return user


async def _form_manager(request: Request, form_token: str) -> tuple[User, Translator] | Response:
    """The manager posting a form, with their translator; the answer to give instead when
    they are not signed in, not a manager, or the form's CSRF token is wrong."""
    user = await _manager(request)
    if not isinstance(user, User):
        return user
    t = translator(request, user)
    if not _csrf_ok(request, form_token):
        return PlainTextResponse(t("error.csrf"), status_code=403)
    return user, t


def _csrf_ok(request: Request, form_token: str) -> bool:
    """The double-submit token, from the form (a page's POST) or the header (a script's)."""
    sent = form_token or request.headers.get(CSRF_HEADER, "")
    return same_token(request.cookies.get(CSRF_COOKIE), sent)


def _off(account: Account) -> str:
    """Why the account is off: "disabled", "unconfigured" (a mailbox or X account never
    connected), or "" when it is active."""
    if account.active:
        return ""
    return "disabled" if account.settings or account.channel == "webchat" else "unconfigured"


async def _page(
    request: Request,
    services: Services,
    user: User,
    *,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    saved: str = "",
    managed: str = "",
    added: str = "",
    adding: dict[str, str] | None = None,
    manage_open: str = "",
) -> Response:
    """The page; ``form`` an account's refused name or reply form, ``adding`` the refused
    add-a-widget form (app.web.account_setup), ``manage_open`` an account's settings to open."""
    t = translator(request, user)
    site = widget_look.site_url(services.settings, str(request.base_url))
    async with services.db.session() as session:
        accounts = (
            await session.exec(
                quarantine.accounts_of(user).order_by(col(Account.office_id), col(Account.key))
            )
        ).all()
        offices = {o.id: o.name for o in (await session.exec(select(Office))).all()}
        ids = [a.id for a in accounts]
        failed = dict(
            (
                await session.exec(
                    select(Message.account_id, func.count())
                    .where(col(Message.account_id).in_(ids))
                    .where(Message.direction == Direction.OUT)
                    .where(Message.delivery_status == DeliveryStatus.FAILED)
                    .group_by(col(Message.account_id))
                )
            ).all()
        )
        items = await quarantine.waiting(session, user)
        destination = await session.get(Destination, user.destination_id)
        own_offices = (await session.exec(quarantine.offices_of(user))).all()
        # The visitor's side: each chat widget's look, and the mailbox a gone visitor's reply
        # needs (templates/accounts/_widget.html, _mailbox_notice.html).
        parts = {
            **await widget_look.accounts_context(
                services, session, list(accounts), t.language, site
            ),
            **await offline.accounts_context(services, session, list(accounts), t.language),
        }
    timezone = destination.timezone if destination else "Europe/Paris"
    now = services.clock.now()
    waiting: dict[str, int] = {}
    for item in items:
        waiting[item.account.key] = waiting.get(item.account.key, 0) + 1
    rows = []
    for account in accounts:
        if account.key == saved:  # named from the database, never echoed from the address
            notice = t("accounts.auto_reply.saved", account=account.name)
        if account.key == managed:
            notice = t("accounts.manage.saved", account=account.name)
        if account.key == added:
            notice = t("accounts.add.added", account=account.name)
        status = await read_status(services, account) if account.channel != "webchat" else None
        state, detail = say_status(t, status, timezone, now) if status else ("", "")
        counters = dict(status.get("counters") or {}) if status else {}
        counters["failed"] = failed.get(account.id, 0)
        policy = auto_reply.policy_of(account)
        edited = form if form and form.get("key") == account.key else None
        rows.append(
            {
                "account": account,
                "office": offices.get(account.office_id, ""),
                "status": status,
                "state": state,
                "detail": detail,
                "counters": counter_list(t, counters),
                "quarantined": waiting.get(account.key, 0),
                "policy": policy,
                "texts": edited["texts"] if edited else policy.texts,
                "name": edited["name"] if edited and "name" in edited else account.name,
                "off": _off(account),
            }
        )
    naming = bool(form and "name" in form)  # the name form was refused, not the reply's
    query_key = request.query_params.get("key", "")
    listed = [
        {
            "row": item.row,
            "account": item.account,
            "reason": quarantine.describe(t, item.row),
            "size": say_size(t, len(item.row.raw)),
        }
        for item in items
    ]
    return render(
        request,
        "accounts.html",
        user=user,
        rows=rows,
        items=listed,
        timezone=timezone,
        notice=notice,
        error=error,
        max_text=auto_reply.MAX_TEXT,
        max_text_x=auto_reply.MAX_TEXT_X,
        defaults={lang: gettext(lang, "auto.nobody_on_duty") for lang in LANGUAGES},
        # The form just saved or refused stays open: the automatic reply's, or the name's.
        open_key="" if naming or managed else (form or {}).get("key", query_key),
        manage_key=(form or {}).get("key", "") if naming else managed or manage_open,
        own_offices=own_offices,
        adding=adding or {},
        name_max=destinations.NAME_MAX,
        status_code=status_code,
        **parts,
    )


@router.get("/accounts", response_class=HTMLResponse)
async def accounts_page(request: Request, services: ServicesDep) -> Response:
    """Every account the manager may see: status, automatic replies, quarantine."""
    user = await _manager(request)
    if not isinstance(user, User):
        return user
    t = translator(request, user)
    done = request.query_params.get("done", "")
    notice = ""
    if done in ("retried", "dismissed"):
        notice = t(f"accounts.quarantine.{done}")
    key = request.query_params.get("key", "")
    if done == "removed":
        notice = t("accounts.remove.removed")
    saved = key if done == "saved" else ""
    managed = key if done == "managed" else ""
    added = key if done == "added" else ""
    return await _page(
        request, services, user, notice=notice, saved=saved, managed=managed, added=added
    )


async def _manage(
    services: Services, user: User, key: str, name: str | None, active: bool | None
) -> tuple[Account | None, str, dict[str, Any]]:
    """Renames ``key`` and/or enables or disables it (None: unchanged), as the CLI does
    (:func:`app.destinations.change_account`): the account, or None when the user may not manage
    it; a translation key and its parameters when the change is refused (nothing is written)."""
    async with services.db.session() as session:
        account = await repository.account_by_key(session, key)
        if account is None or not quarantine.may_manage(user, account):
            return None, "", {}
        try:
            account = await destinations.change_account(session, account, name=name, active=active)
        except destinations.DestinationError as exc:
            if exc.field == "--name":
                return account, "accounts.manage.bad_name", {"max": destinations.NAME_MAX}
            command = destinations.connect_command(account)
            return account, "accounts.manage.not_connected", {"command": command, "account": key}
    return account, "", {}


@router.post("/accounts/{key}/manage", response_class=HTMLResponse)
async def manage_account(
    request: Request,
    services: ServicesDep,
    key: str,
    name: Annotated[str, Form(max_length=1000)] = "",
    active: Annotated[bool, Form()] = False,
    csrf_token: Token = "",
) -> Response:
    """A new name for the account, and whether it is active (a disabled account is no longer
    read nor written from; its widget opens no chat and ends those open)."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    user, t = caller
    account, refused, params = await _manage(services, user, key, name, active)
    if account is None:
        return await _page(request, services, user, error=t("accounts.not_found"), status_code=404)
    if refused:
        form = {"key": key, "name": name, "texts": auto_reply.policy_of(account).texts}
        error = t(refused, **params)
        return await _page(request, services, user, error=error, status_code=422, form=form)
    where = quote(account.key, safe="")
    return RedirectResponse(f"/accounts?done=managed&key={where}#manage-{where}", status_code=303)


@router.post("/accounts/{key}/auto-reply", response_class=HTMLResponse)
async def save_auto_reply(
    request: Request,
    services: ServicesDep,
    key: str,
    text_fr: Text = "",
    text_en: Text = "",
    enabled: Annotated[bool, Form()] = False,
    public: Annotated[bool, Form()] = False,
    csrf_token: Token = "",
) -> Response:
    """Saves which conversations of the account get an automatic reply, and its texts."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    user, t = caller
    texts = {"fr": text_fr, "en": text_en}
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == key))).first()
        if account is None or not quarantine.may_manage(user, account):
            return await _page(
                request, services, user, error=t("accounts.not_found"), status_code=404
            )
        try:
            value = auto_reply.check_policy(enabled, public, texts, auto_reply.max_text(account))
        except auto_reply.PolicyError as exc:
            message = t(exc.code, office="{office}", when="{when}", **exc.params)
            form = {"key": key, "texts": texts}
            return await _page(request, services, user, error=message, status_code=422, form=form)
        account.auto_reply = value
        session.add(account)
        await session.commit()
    where = quote(account.key, safe="")
    return RedirectResponse(f"/accounts?done=saved&key={where}#auto-{where}", status_code=303)


@router.get("/accounts/quarantine/{item_id}/raw")
async def download_quarantined(request: Request, services: ServicesDep, item_id: RowId) -> Response:
    """The raw bytes as received, as a download (never shown inline)."""
    user = await _manager(request)
    if not isinstance(user, User):
        return user
    try:
        async with services.db.session() as session:
            item = await quarantine.check_item(session, user, item_id)
    except quarantine.QuarantineError as exc:
        return PlainTextResponse(translator(request, user)(exc.code), status_code=exc.status)
    media_type, extension = quarantine.content_type(item.account)
    name = f"quarantine-{item.account.key}-{item.row.id}.{extension}"
    return Response(
        item.row.raw,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
            "content-security-policy": "sandbox; default-src 'none'",
            "cache-control": "no-store",
        },
    )


@router.post("/accounts/quarantine/{item_id}/{action}", response_class=HTMLResponse)
async def act_on_quarantined(
    request: Request,
    services: ServicesDep,
    item_id: RowId,
    action: str,
    csrf_token: Token = "",
) -> Response:
    """``retry``: read the raw bytes again and ingest them; ``dismiss``: take it off the list."""
    user = await _manager(request)
    if not isinstance(user, User):
        return user
    t = translator(request, user)
    if action not in ("retry", "dismiss"):
        return PlainTextResponse(t("quarantine.not_found"), status_code=404)
    if not _csrf_ok(request, csrf_token):
        return PlainTextResponse(t("error.csrf"), status_code=403)
    try:
        if action == "retry":
            await quarantine.retry(services, user, item_id)
        else:
            await quarantine.dismiss(services, user, item_id)
    except quarantine.QuarantineError as exc:
        message = t(exc.code, **exc.params)
        return await _page(request, services, user, error=message, status_code=exc.status)
    done = "retried" if action == "retry" else "dismissed"
    return RedirectResponse(f"/accounts?done={done}#quarantine", status_code=303)


class AutoReplyIn(BaseModel):
    """An account's automatic replies, as a script sets them (the page's form, in JSON)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    public: bool = False
    texts: dict[Literal["fr", "en"], Annotated[str, StringConstraints(max_length=2000)]] = {}


async def _managed(services: Services, user: User, key: str) -> Account:
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == key))).first()
    if account is None or not quarantine.may_manage(user, account):
        raise ActionError("accounts.not_found", 404)
    return account


@router.get("/api/accounts/{key}/auto-reply")
async def get_auto_reply(key: str, user: CurrentManager, services: ServicesDep) -> dict[str, Any]:
    """The account's automatic-reply choice (the channel's defaults when never set)."""
    account = await _managed(services, user, key)
    return auto_reply.policy_of(account).model_dump()


@router.put("/api/accounts/{key}/auto-reply", dependencies=[CsrfChecked])
async def put_auto_reply(
    request: Request, key: str, body: AutoReplyIn, user: CurrentManager, services: ServicesDep
) -> Response:
    """Sets the account's automatic replies; 422 with a translated ``detail`` for a bad text."""
    account = await _managed(services, user, key)
    try:
        texts: dict[str, str] = {lang: text for lang, text in body.texts.items()}
        value = auto_reply.check_policy(
            body.enabled, body.public, texts, auto_reply.max_text(account)
        )
    except auto_reply.PolicyError as exc:
        t = translator(request, user)
        detail = t(exc.code, office="{office}", when="{when}", **exc.params)
        return JSONResponse({"detail": detail, "code": exc.code}, status_code=422)
    async with services.db.session() as session:
        stored = await session.get(Account, account.id)
        assert stored is not None
        stored.auto_reply = value
        session.add(stored)
        await session.commit()
    return JSONResponse(auto_reply.AutoReplyPolicy.model_validate_json(value).model_dump())


class AccountIn(BaseModel):
    """What ``PATCH /api/accounts/{key}`` changes; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(max_length=1000)] | None = None
    active: bool | None = None


@router.patch("/api/accounts/{key}", dependencies=[CsrfChecked])
async def patch_account(
    request: Request, key: str, body: AccountIn, user: CurrentManager, services: ServicesDep
) -> Response:
    """Renames the account and/or enables or disables it; 422 with a translated ``detail``."""
    account, refused, params = await _manage(services, user, key, body.name, body.active)
    if account is None:
        raise ActionError("accounts.not_found", 404)
    if refused:
        detail = translator(request, user)(refused, **params)
        return JSONResponse({"detail": detail, "code": refused}, status_code=422)
    return JSONResponse(
        {
            "key": account.key,
            "name": account.name,
            "channel": account.channel,
            "active": account.active,
        }
    )
