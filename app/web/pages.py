"""Server-rendered pages: login, logout, the adviser inbox, demo visitor page (the privacy notice
is app.web.visitor_data_pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlmodel import col, select

from app import login_limits, repository, session_end
from app.deps import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    ServicesDep,
    client_ip,
    language_for,
    optional_user,
    translator,
)
from app.i18n import LANGUAGES
from app.models import Account, Destination, Office, Role, User
from app.security import DUMMY_HASH, password_stamp, same_token, verify_password
from app.web.render import render

router = APIRouter()


@router.get("/", include_in_schema=False)
async def index(request: Request) -> Response:
    user = await optional_user(request)
    return RedirectResponse("/inbox" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    """The login form."""
    if await optional_user(request):
        return RedirectResponse("/inbox", status_code=303)
    return render(request, "login.html")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Checks the credentials and opens a session.

    Limited per client address and per account: an account with too many failed sign-ins is
    locked for a while, except from a browser that signed in to it before (429 either way)."""
    if not same_token(request.cookies.get(CSRF_COOKIE), csrf_token):
        return render(request, "login.html", error="error.csrf", email=email, status_code=403)
    if not await services.limiter.hit("login", client_ip(request), services.settings.login_rate):
        return render(
            request, "login.html", error="error.rate_limited", email=email, status_code=429
        )
    async with services.db.session() as session:
        user = await repository.user_by_email(session, email)
    user_id = user.id if user else None
    if await login_limits.locked(services, email) and not login_limits.known_device(
        services, request, user_id
    ):
        return render(
            request, "login.html", error="error.account_locked", email=email, status_code=429
        )
    # Verify even for unknown users so timing does not reveal which e-mails exist.
    valid = verify_password(password, user.password_hash if user else DUMMY_HASH)
    if user is None or not valid or not user.active or user.id is None:
        await login_limits.failed(services, email)
        return render(request, "login.html", error="error.bad_login", email=email, status_code=401)
    data = await services.sessions.create(user.id, password_stamp(user.password_hash))
    response = RedirectResponse("/inbox", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        data.session_id,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        max_age=services.settings.session_max_age,
    )
    login_limits.remember_device(services, response, user.id)
    return response


@router.post("/logout")
async def logout(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Ends the session, and closes its open sockets on every worker (close code 4401)."""
    if not same_token(request.cookies.get(CSRF_COOKIE), csrf_token):
        return Response("missing or wrong CSRF token", status_code=403)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await session_end.log_out(services, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _local_path(target: str) -> str:
    """Only a path of this site: never an open redirect to another host."""
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.post("/language")
async def choose_language(
    request: Request,
    services: ServicesDep,
    language: Annotated[str, Form(max_length=8)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Switches the interface language: kept on the signed-in user, and in a cookie."""
    user = await optional_user(request)
    t = translator(request, user)
    if not same_token(request.cookies.get(CSRF_COOKIE), csrf_token):
        return PlainTextResponse(t("error.csrf"), status_code=403)
    if language not in LANGUAGES:
        return PlainTextResponse(t("error.unknown_language"), status_code=422)
    if user is not None:
        async with services.db.session() as session:
            stored = await session.get(User, user.id)
            if stored is not None:
                stored.language = language
                session.add(stored)
                await session.commit()
    response = RedirectResponse(_local_path(next), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=365 * 86400,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, services: ServicesDep) -> Response:
    """The adviser inbox (a live single page)."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    async with services.db.session() as session:
        office = await session.get(Office, user.office_id) if user.office_id else None
        destination = await session.get(Destination, user.destination_id)
    # The office whose conversations fill this inbox ("" for a destination manager: all).
    scope = "" if user.role == Role.DESTINATION_MANAGER or office is None else office.id
    return render(
        request,
        "inbox.html",
        user=user,
        office=office,
        scope_office_id=scope,
        # The application's clock (it may run "as if" at another instant): waiting times are
        # counted against it, not against the browser's.
        server_now=services.clock.now().isoformat(),
        # Times are shown as the destination lives them, wherever the adviser's browser is.
        timezone=destination.timezone if destination else "Europe/Paris",
    )


@router.get("/demo", response_class=HTMLResponse)
async def demo_page(request: Request, services: ServicesDep, account: str = "") -> Response:
    """A stand-in office website with the chat widget embedded, for trying Concierge out."""
    async with services.db.session() as session:
        accounts = (
            await session.exec(
                select(Account).where(Account.channel == "webchat").order_by(col(Account.id))
            )
        ).all()
    chosen = next((a for a in accounts if a.key == account), accounts[0] if accounts else None)
    user = await optional_user(request)
    return render(
        request,
        "demo.html",
        user=user,
        accounts=accounts,
        chosen=chosen,
        widget_lang=language_for(request, user),
    )
