"""FastAPI dependencies: the services, the current user, CSRF checks, the language."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Path, Request, WebSocket
from starlette.requests import HTTPConnection

from app import repository
from app.actions import ActionError  # refusals in the reader's language (app.web.errors)
from app.i18n import LANGUAGES, VISITOR_LANGUAGES, Translator, negotiate
from app.models import Role, User
from app.security import SessionData, same_token
from app.services import Services

SESSION_COOKIE = "concierge_session"
LANGUAGE_COOKIE = "concierge_lang"
CSRF_COOKIE = "concierge_csrf"
CSRF_HEADER = "x-csrf-token"

# Every row id in a path: the tables' ids are SQL INTEGER, 32-bit on PostgreSQL (64-bit on
# SQLite), and a larger number would reach the database and fail there (a 500) instead of being
# refused here with a 422. No row of either engine has an id beyond this.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=-MAX_ROW_ID, le=MAX_ROW_ID)]


def client_ip(conn: HTTPConnection) -> str:
    """The client's address, for rate limits: the peer's, or what a trusted proxy said it was.

    ``X-Forwarded-For`` is believed only from ``CONCIERGE_TRUSTED_PROXIES`` (uvicorn's
    ProxyHeadersMiddleware, set up in ``app.main``, has already put it in the scope)."""
    return conn.client.host if conn.client else "unknown"


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


async def _services(conn: HTTPConnection) -> Services:
    """``get_services`` as a dependency. A coroutine: FastAPI runs a plain function dependency
    in a worker thread, a hop of every request there and back for nothing."""
    return get_services(conn)


ServicesDep = Annotated[Services, Depends(_services)]


async def session_user(services: Services, session_id: str | None) -> User | None:
    """The user of a session that still holds (``repository.session_holder``)."""
    signed = await services.sessions.get(session_id)
    if signed is None:
        return None
    async with services.db.session(quick=True) as session:
        return await repository.session_holder(session, signed)


async def signed_session(request: Request) -> SessionData:
    """The request's session as Redis keeps it, its user not read: for a handler whose own
    unit of work reads the user and checks that the session still holds
    (``actions.reply_in_session``), instead of a unit of work of their own before it. 401
    without one."""
    signed = await get_services(request).sessions.get(request.cookies.get(SESSION_COOKIE))
    if signed is None:
        raise ActionError("error.login_required", 401)
    return signed


SignedSession = Annotated[SessionData, Depends(signed_session)]


async def optional_user(conn: HTTPConnection) -> User | None:
    return await session_user(get_services(conn), conn.cookies.get(SESSION_COOKIE))


async def current_user(request: Request) -> User:
    user = await optional_user(request)
    if user is None:
        raise ActionError("error.login_required", 401)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def current_manager(user: CurrentUser) -> User:
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        raise ActionError("error.managers_only", 403)
    return user


CurrentManager = Annotated[User, Depends(current_manager)]


def csrf_token(conn: HTTPConnection) -> str:
    """The browser's CSRF token (double-submit cookie); a new one when it has none."""
    token = conn.cookies.get(CSRF_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token
    existing: str | None = getattr(conn.state, "new_csrf", None)
    if existing:
        return existing
    conn.state.new_csrf = secrets.token_urlsafe(32)
    return str(conn.state.new_csrf)


async def require_csrf_header(request: Request) -> None:
    """State-changing JSON calls must echo the CSRF cookie in the X-CSRF-Token header (a
    coroutine, run on the event loop rather than in a worker thread)."""
    if not same_token(request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)):
        raise ActionError("error.csrf_header", 403)


CsrfChecked = Depends(require_csrf_header)


def language_for(conn: HTTPConnection, user: User | None = None) -> str:
    """The page's language: the user's choice, then ``?lang=``, the cookie, the browser."""
    services = get_services(conn)
    if user is not None and user.language in LANGUAGES:
        return user.language
    requested = conn.query_params.get("lang")
    if requested in LANGUAGES:
        return requested
    # Chosen in the top bar before signing in (or by a user who never chose while signed in).
    remembered = conn.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return negotiate(conn.headers.get("accept-language"), services.settings.default_language)


def visitor_language(conn: HTTPConnection) -> str:
    """A visitor's language (widget, survey and privacy pages): the one they chose (``?lang=``,
    sent by the widget), else their browser's among ``VISITOR_LANGUAGES``, else the
    destination's default."""
    requested = conn.query_params.get("lang", "")[:16].lower().replace("_", "-").split("-")[0]
    if requested in VISITOR_LANGUAGES:
        return requested
    default = get_services(conn).settings.default_language
    return negotiate(conn.headers.get("accept-language"), default, VISITOR_LANGUAGES)


def translator(conn: HTTPConnection, user: User | None = None) -> Translator:
    return Translator(language_for(conn, user))


def same_origin(ws: WebSocket) -> bool:
    """Adviser sockets carry the session cookie: accept them from our own pages only."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser
    host = ws.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
