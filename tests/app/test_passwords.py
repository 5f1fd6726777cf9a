"""Changing a password: a user changes their own on /password (the current one asked first,
refusals in the reader's language with nothing changed, CSRF, a limit on tries); their other
browsers are signed out, sockets included, and this one stays; an administrator's reset from
the CLI ends every session, even where the CLI cannot reach the app's Redis. Real server, Redis
and database."""

from __future__ import annotations

import asyncio
import contextlib
import html
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from app import passwords, repository
from app.deps import session_user
from app.security import password_stamp, verify_password
from app.services import Services
from tests.app.test_cli import run_cli
from tests.app.test_ws import recv_until
from tests.conftest import LiveServer, login, office_login

NEW = "un nouveau mot de passe 2026"


def _change(client: httpx.Client, current: str, new: str, confirm: str, lang: str = "fr") -> Any:
    return client.post(
        "/password",
        data={
            "csrf_token": client.headers["X-CSRF-Token"],
            "current": current,
            "new": new,
            "confirm": confirm,
        },
        headers={"accept-language": lang},
    )


async def _closed_within(ws: Any, seconds: float) -> int:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), seconds)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code


async def test_a_user_changes_their_password_and_their_other_browsers_are_signed_out(
    make_server: Any,
) -> None:
    live: LiveServer = make_server(rate_window_seconds=3600)
    camille = office_login(live, "port-argent")
    with (
        login(live.url, camille.email, camille.password) as here,
        login(live.url, camille.email, camille.password) as elsewhere,
    ):
        cookie = f"concierge_session={elsewhere.cookies['concierge_session']}"
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers={"cookie": cookie}
        ) as other_socket:
            await recv_until(other_socket, "hello")
            page = here.get("/password", headers={"accept-language": "en"})
            assert page.status_code == 200 and "Change your password" in page.text

            # Refused, in the reader's language; nothing changes, nobody is signed out.
            for current, new, confirm, lang, status, words in (
                ("pas le bon", NEW, NEW, "fr", 403, "Le mot de passe actuel n'est pas le bon"),
                (camille.password, "court", "court", "en", 422, "at least 10 characters"),
                (camille.password, NEW, NEW + "!", "fr", 422, "Les deux nouveaux mots de passe"),
                (camille.password, "x" * 1025, "x" * 1025, "en", 422, "at most 1024 characters"),
            ):
                refused = _change(here, current, new, confirm, lang)
                assert refused.status_code == status, refused.text[:300]
                assert words in html.unescape(refused.text)
            assert elsewhere.get("/inbox").status_code == 200
            forged = here.post(
                "/password", data={"current": camille.password, "new": NEW, "confirm": NEW}
            )
            assert forged.status_code == 403

            changed = _change(here, camille.password, NEW, NEW)
            assert (changed.status_code, changed.headers["location"]) == (
                303,
                "/password?done=others",
            )
            notice = here.get(changed.headers["location"], headers={"accept-language": "fr"})
            assert "vos autres navigateurs connectés ont été déconnectés" in notice.text
            # This browser stays; the other is signed out, its socket closed (4401).
            assert here.get("/inbox").status_code == 200
            assert await _closed_within(other_socket, 10) == 4401
            # Alone now: the next change signs nobody else out, and says so.
            alone = _change(here, NEW, NEW + " bis", NEW + " bis")
            assert alone.headers["location"] == "/password?done=1"
        gone = elsewhere.get("/inbox")
        assert (gone.status_code, gone.headers["location"]) == (303, "/login")

    with httpx.Client(base_url=live.url) as fresh:
        token = fresh.get("/login").text.split('name="csrf-token" content="', 1)[1].split('"')[0]
        old = fresh.post(
            "/login",
            data={"email": camille.email, "password": camille.password, "csrf_token": token},
        )
        assert old.status_code == 401
    with login(live.url, camille.email, NEW + " bis") as again:
        assert again.get("/inbox").status_code == 200


def test_guessing_the_current_password_is_limited(make_server: Any) -> None:
    live: LiveServer = make_server(rate_window_seconds=3600, login_rate=3)
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        codes = [_change(client, f"essai {n}", NEW, NEW).status_code for n in range(4)]
        assert codes == [403, 403, 403, 429]
        # Even the right one waits now: the limit counts tries, not failures.
        assert _change(client, camille.password, NEW, NEW).status_code == 429
        assert client.get("/inbox").status_code == 200


async def test_a_session_opened_before_a_reset_no_longer_holds(services: Services) -> None:
    """What the CLI's reset relies on where it cannot reach Redis: the session's stamp."""
    async with services.db.session() as session:
        user = await repository.user_by_email(session, "camille@port-argent.example")
    assert user is not None and user.id is not None
    opened = await services.sessions.create(user.id, password_stamp(user.password_hash))
    assert (await session_user(services, opened.session_id)) is not None
    assert await passwords.reset(services.db, user.email, NEW) is not None
    assert await session_user(services, opened.session_id) is None
    # A session from before stamps existed (none stored) no longer holds either: a reset from
    # the CLI without Redis could not end it.
    legacy = await services.sessions.create(user.id, "")
    assert (await session_user(services, legacy.session_id)) is None
    assert await passwords.reset(services.db, "nobody@example.org", NEW) is None


def test_the_cli_sets_a_forgotten_password(env: dict[str, str]) -> None:
    assert run_cli("demo", "--days", "1", env=env).returncode == 0
    short = run_cli(
        "user", "password", "camille@port-argent.example", env=env, stdin="court\ncourt\n"
    )
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    unknown = run_cli("user", "password", "x@y.example", env=env, stdin=f"{NEW}\n{NEW}\n")
    assert unknown.returncode != 0 and "no such user" in unknown.stderr
    done = run_cli(
        "user", "password", "camille@port-argent.example", env=env, stdin=f"{NEW}\n{NEW}\n"
    )
    assert done.returncode == 0, done.stderr
    assert "password of camille@port-argent.example set" in done.stdout
    database = Path(env["CONCIERGE_VAR_DIR"]) / "concierge.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        (stored,) = db.execute(
            "select password_hash from user where email = 'camille@port-argent.example'"
        ).fetchone()
    assert verify_password(NEW, stored)
