"""``/team``: managers see the people they look after, add one, disable or enable one
(app.team_admin; disabling ends their sessions and sockets at once, as ``POST
/api/users/{id}/disable`` does), set a new password for one who forgot theirs (app.passwords;
their sessions end too). Forms, so it works without JavaScript; CSRF-checked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from app import passwords, quarantine, session_end, team_admin
from app.actions import ActionError
from app.deps import ServicesDep, translator
from app.i18n import Translator
from app.models import Office, User
from app.services import Services
from app.web.accounts_pages import _form_manager, _manager
from app.web.render import render
from app.web.users_api import check_target

router = APIRouter()

Token = Annotated[str, Form(max_length=200)]
NOTICES = {
    "added": "team.added",
    "disabled": "team.disabled_notice",
    "enabled": "team.enabled_notice",
    "password": "team.password_notice",
}


async def _page(
    request: Request,
    services: Services,
    manager: User,
    *,
    error: str = "",
    status_code: int = 200,
    adding: dict[str, str] | None = None,
) -> Response:
    t = translator(request, manager)
    async with services.db.session() as session:
        users = (await session.exec(team_admin.team_of(manager))).all()
        offices = {o.id: o.name for o in (await session.exec(select(Office))).all()}
        own_offices = (await session.exec(quarantine.offices_of(manager))).all()
    notice = ""
    done, about = request.query_params.get("done", ""), request.query_params.get("id", "")
    named = next((u for u in users if str(u.id) == about), None)
    if done in NOTICES and named is not None:  # named from the database, never the address
        notice = t(NOTICES[done], name=named.name, email=named.email)
    return render(
        request,
        "team.html",
        user=manager,
        users=users,
        offices=offices,
        own_offices=own_offices,
        roles=team_admin.roles_for(manager),
        adding=adding or {},
        notice=notice,
        error=error,
        min_length=passwords.MIN_LENGTH,
        status_code=status_code,
    )


@router.get("/team", response_class=HTMLResponse)
async def team_page(request: Request, services: ServicesDep) -> Response:
    """The team: name, e-mail, office, role and state of each person the manager sees."""
    manager = await _manager(request)
    if not isinstance(manager, User):
        return manager
    return await _page(request, services, manager)


@router.post("/team/add", response_class=HTMLResponse)
async def add_member(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=1000)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    office: Annotated[int, Form()] = 0,
    password: Annotated[str, Form(max_length=4 * passwords.MAX_LENGTH)] = "",
    csrf_token: Token = "",
) -> Response:
    """Adds a user; the page again with the refusal in the reader's language otherwise (what
    was typed kept, the password aside)."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    manager, t = caller
    try:
        async with services.db.session() as session:
            added = await team_admin.add_by_manager(
                session,
                manager,
                email=email,
                name=name,
                role=role,
                office_id=office or None,
                password=password,
            )
    except ActionError as refused:
        kept = {"email": email, "name": name, "role": role, "office": str(office)}
        return await _refused(request, services, manager, t, refused, adding=kept)
    return RedirectResponse(f"/team?done=added&id={added.id}", status_code=303)


@router.post("/team/{user_id}/active", response_class=HTMLResponse)
async def set_member_active(
    request: Request,
    services: ServicesDep,
    user_id: int,
    active: Annotated[bool, Form()] = False,
    csrf_token: Token = "",
) -> Response:
    """Disables a user (their sessions and sockets end at once) or lets them in again."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    manager, t = caller
    try:
        target = await check_target(services, manager, user_id)
    except ActionError as refused:
        return await _refused(request, services, manager, t, refused)
    assert target.id is not None
    await session_end.set_active(services, target.id, active)
    done = "enabled" if active else "disabled"
    return RedirectResponse(f"/team?done={done}&id={target.id}#user-{target.id}", status_code=303)


@router.post("/team/{user_id}/password", response_class=HTMLResponse)
async def set_member_password(
    request: Request,
    services: ServicesDep,
    user_id: int,
    password: Annotated[str, Form(max_length=4 * passwords.MAX_LENGTH)] = "",
    csrf_token: Token = "",
) -> Response:
    """Sets a new password for a member of the team (a forgotten one): every session of
    theirs ends; the manager gives them the password, and they change it on /password."""
    caller = await _form_manager(request, csrf_token)
    if isinstance(caller, Response):
        return caller
    manager, t = caller
    try:
        target = await check_target(services, manager, user_id, itself="team.error.own_password")
        await passwords.set_by_manager(services, manager, target, password)
    except ActionError as refused:
        return await _refused(request, services, manager, t, refused)
    return RedirectResponse(f"/team?done=password&id={user_id}#user-{user_id}", status_code=303)


async def _refused(
    request: Request,
    services: Services,
    manager: User,
    t: Translator,
    refused: ActionError,
    **kept: Any,
) -> Response:
    """The page again, saying in the reader's language why the form was refused."""
    error = t(refused.code, **refused.params)
    return await _page(request, services, manager, error=error, status_code=refused.status, **kept)
