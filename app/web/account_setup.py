"""Managers add a chat widget and remove an account added by mistake, on /accounts (and by
the JSON API): what ``concierge account add … --channel webchat`` and ``concierge account
remove`` do, with the same rules (app.destinations, app.removal), refused in the reader's
language with nothing written.

Only chat widgets are added here: a mailbox or an X account needs secrets in the processes'
environment, which the administrator sets (``concierge account email|x``). An office manager
adds to and removes from their office only; a destination manager any office of theirs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from app import channels, destinations, quarantine, removal, repository, widget_look
from app.actions import ActionError
from app.deps import CsrfChecked, CurrentManager, ServicesDep
from app.destinations import DestinationError
from app.i18n import Translator
from app.models import Account, Office, User
from app.services import Services
from app.web.accounts_pages import _form_manager, _page

router = APIRouter()

Token = Annotated[str, Form(max_length=200)]


def _refused(exc: DestinationError, prefix: str) -> ActionError:
    """What app.destinations or app.removal refused, as the page says it."""
    if exc.code == "bad_name":
        return ActionError("accounts.manage.bad_name", 422, {"max": str(destinations.NAME_MAX)})
    if exc.code == "bad_slug":
        return ActionError("accounts.add.bad_slug", 422)
    if exc.code == "key_taken":
        return ActionError("accounts.add.key_taken", 422, {"taken": exc.params.get("key", "")})
    if exc.code in ("enabled", "in_use", "in_rota"):  # the account's state, not the input
        return ActionError(f"{prefix}.{exc.code}", 409)
    return ActionError("accounts.not_found", 404)  # removed meanwhile


async def add_widget(
    services: Services, user: User, office_id: int, key: str, name: str
) -> Account:
    """A new chat widget of the office ``office_id`` (one of ``user``'s), live at once."""
    async with services.db.session() as session:
        query = quarantine.offices_of(user).where(Office.id == office_id)
        office = (await session.exec(query)).first()
        if office is None:
            raise ActionError("accounts.add.bad_office", 422)
        try:
            return await destinations.add_account_to(session, office, key, "webchat", name)
        except DestinationError as exc:
            raise _refused(exc, "accounts.add") from None


async def remove_account(
    services: Services, user: User, key: str, confirmed: bool = True
) -> Account:
    """Removes ``key`` (app.removal's rules), once ``confirmed``; 404 when ``user`` may not
    manage it (as if it did not exist)."""
    async with services.db.session() as session:
        account = await repository.account_by_key(session, key)
        if account is None or not quarantine.may_manage(user, account):
            raise ActionError("accounts.not_found", 404)
        if not confirmed:
            raise ActionError("accounts.remove.unconfirmed", 422)
        try:
            removed = await removal.remove_account(session, key)
        except DestinationError as exc:
            raise _refused(exc, "accounts.remove") from None
    await channels.forget(services, removed)
    return removed


@router.post("/accounts/add-widget", response_class=HTMLResponse)
async def add_widget_form(
    request: Request,
    services: ServicesDep,
    office: Annotated[int, Form()] = 0,
    key: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Token = "",
) -> Response:
    """The page's form: the widget is added and its settings (with the code to paste) open."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    user, t = caller
    key = key.strip()
    try:
        account = await add_widget(services, user, office, key, name)
    except ActionError as refused:
        kept = {"office": str(office), "key": key, "name": name}
        return await _refused_page(request, services, user, t, refused, adding=kept)
    return RedirectResponse(
        f"/accounts?done=added&key={account.key}#widget-{account.key}", status_code=303
    )


@router.post("/accounts/{key}/remove", response_class=HTMLResponse)
async def remove_account_form(
    request: Request,
    services: ServicesDep,
    key: str,
    confirm: Annotated[bool, Form()] = False,
    csrf_token: Token = "",
) -> Response:
    """Removes an account added by mistake, once the manager ticked the confirmation."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    user, t = caller
    try:
        await remove_account(services, user, key, confirmed=confirm)
    except ActionError as refused:
        return await _refused_page(request, services, user, t, refused, manage_open=key)
    return RedirectResponse("/accounts?done=removed", status_code=303)


async def _refused_page(
    request: Request,
    services: Services,
    user: User,
    t: Translator,
    refused: ActionError,
    **kept: Any,
) -> Response:
    """The page again, saying in the reader's language why the form was refused; ``kept``:
    what it shows as typed or open (``_page``'s arguments)."""
    error = t(refused.code, **refused.params)
    return await _page(request, services, user, error=error, status_code=refused.status, **kept)


class WidgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    office_id: int
    key: Annotated[str, StringConstraints(max_length=200)]
    name: Annotated[str, StringConstraints(max_length=1000)]


def _account_out(account: Account) -> dict[str, object]:
    return {
        "key": account.key,
        "name": account.name,
        "channel": account.channel,
        "office_id": account.office_id,
        "active": account.active,
    }


@router.post("/api/accounts", dependencies=[CsrfChecked], status_code=201)
async def post_widget(
    request: Request, body: WidgetIn, user: CurrentManager, services: ServicesDep
) -> Response:
    """Adds a chat widget; 422 with a translated ``detail`` and its ``code`` when refused
    (the app's handler of :class:`ActionError`)."""
    account = await add_widget(services, user, body.office_id, body.key.strip(), body.name)
    site = widget_look.site_url(services.settings, str(request.base_url))
    snippet = widget_look.embed_snippet(site, account.key)
    return JSONResponse({**_account_out(account), "snippet": snippet}, status_code=201)


@router.delete("/api/accounts/{key}", dependencies=[CsrfChecked])
async def delete_account(key: str, user: CurrentManager, services: ServicesDep) -> Response:
    """Removes an account added by mistake: 204; 409 with a translated ``detail`` when it is
    enabled, has served or the rota names it; 404 when it is not the manager's."""
    await remove_account(services, user, key)
    return Response(status_code=204)
