"""``/password``: a signed-in user changes their own password (app.passwords)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from app import passwords
from app.actions import ActionError
from app.deps import CSRF_COOKIE, SESSION_COOKIE, ServicesDep, optional_user, translator
from app.models import User
from app.security import same_token
from app.web.render import render

router = APIRouter()

# Longer than allowed still reaches the check, which says why in the reader's language.
Secret = Annotated[str, Form(max_length=4 * passwords.MAX_LENGTH)]


def _page(
    request: Request, user: User, *, notice: str = "", error: str = "", status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "password.html",
        user=user,
        notice=notice,
        error=error,
        min_length=passwords.MIN_LENGTH,
        max_length=passwords.MAX_LENGTH,
        status_code=status_code,
    )


@router.get("/password", response_class=HTMLResponse)
async def password_page(request: Request) -> Response:
    """The form; after a change, says so (and whether other browsers were signed out)."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    t = translator(request, user)
    done = request.query_params.get("done", "")
    notices = {"1": "password.changed", "others": "password.changed_others"}
    return _page(request, user, notice=t(notices[done]) if done in notices else "")


@router.post("/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    services: ServicesDep,
    current: Secret = "",
    new: Secret = "",
    confirm: Secret = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Changes the password; the page again with the refusal in the reader's language."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    t = translator(request, user)
    if not same_token(request.cookies.get(CSRF_COOKIE), csrf_token):
        return PlainTextResponse(t("error.csrf"), status_code=403)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    try:
        ended = await passwords.change(services, user, session_id, current, new, confirm)
    except ActionError as refused:
        error = t(refused.code, **refused.params)
        return _page(request, user, error=error, status_code=refused.status)
    return RedirectResponse(f"/password?done={'others' if ended else '1'}", status_code=303)
