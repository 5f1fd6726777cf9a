"""Logging out and disabling a user end their open adviser sockets, on every worker, at once."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from app import keys
from app.deps import SESSION_COOKIE
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

SECRET = "Mon numéro de chambre est le 214"
CONCIERGE = [sys.executable, "-c", "from app.cli import main; main()"]


def cookie_of(client: httpx.Client) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}


async def frames_until_closed(ws: Any, timeout: float = 3.0) -> tuple[int, list[str]]:
    """Every frame the socket still sends, and its close code; fails if it stays open."""
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            frames.append(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code, frames
    except TimeoutError:
        raise AssertionError("the socket is still open") from None


async def texts_until(ws: Any, text: str) -> list[str]:
    """The texts of the messages the socket receives, up to ``text``."""
    texts: list[str] = []
    while text not in texts:
        texts.append((await recv_until(ws, "message.created"))["message"]["text"])
    return texts


def logout(client: httpx.Client) -> None:
    response = client.post("/logout", data={"csrf_token": client.headers["X-CSRF-Token"]})
    assert response.status_code == 303


async def test_logout_closes_every_socket_of_the_session_on_every_worker(
    make_server: Callable[..., LiveServer],
) -> None:
    one, two = make_server(), make_server()  # two workers sharing Redis and the database
    adviser = office_login(one, "port-argent")
    colleague = office_login(one, "port-argent", 1)
    with (
        login(one.url, adviser.email, adviser.password) as client,
        login(two.url, colleague.email, colleague.password) as other,
    ):
        url_one, url_two = f"{one.ws_url}/ws/adviser", f"{two.ws_url}/ws/adviser"
        session = cookie_of(client)
        async with (
            websockets.connect(url_one, additional_headers=cookie_of(client)) as first,
            websockets.connect(url_two, additional_headers=cookie_of(client)) as second,
            websockets.connect(url_two, additional_headers=cookie_of(other)) as colleagues,
            websockets.connect(visitor_url(one)) as visitor,
        ):
            for ws in (first, second, colleagues, visitor):
                await recv_until(ws, "hello")
            await send_message(visitor, "Bonjour", client_id="client-0001")
            await recv_until(first, "message.created")
            await recv_until(second, "message.created")

            logout(client)
            # The very next visitor message must not reach the logged-out socket.
            await send_message(visitor, SECRET, client_id="client-0002")
            for ws in (first, second):
                code, frames = await frames_until_closed(ws)
                assert code == 4401
                assert not any(SECRET in frame for frame in frames)
            # A colleague's socket on the same worker stays open and gets the message.
            assert await texts_until(colleagues, SECRET)
        # The ended session opens no new socket.
        try:
            async with websockets.connect(url_two, additional_headers=session) as ws:
                await ws.recv()
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4401
        else:
            raise AssertionError("a logged-out session opened a socket")


async def test_disabling_a_user_closes_all_their_sockets_and_sessions(
    make_server: Callable[..., LiveServer],
) -> None:
    one, two = make_server(), make_server()
    adviser = office_login(one, "port-argent")
    colleague = office_login(one, "port-argent", 1)
    manager = next(x for x in one.logins.values() if x.email.startswith("manager@"))
    with (
        login(one.url, adviser.email, adviser.password) as laptop,
        login(two.url, adviser.email, adviser.password) as phone,
        login(one.url, colleague.email, colleague.password) as other,
        login(two.url, manager.email, manager.password) as boss,
    ):
        me = laptop.get("/api/me").json()
        async with (
            websockets.connect(
                f"{one.ws_url}/ws/adviser", additional_headers=cookie_of(laptop)
            ) as a,
            websockets.connect(
                f"{two.ws_url}/ws/adviser", additional_headers=cookie_of(phone)
            ) as b,
            websockets.connect(
                f"{one.ws_url}/ws/adviser", additional_headers=cookie_of(other)
            ) as c,
            websockets.connect(visitor_url(one)) as visitor,
        ):
            for ws in (a, b, c, visitor):
                await recv_until(ws, "hello")
            response = boss.post(f"/api/users/{me['id']}/disable")
            assert response.status_code == 200, response.text
            assert response.json() == {"id": me["id"], "active": False}
            await send_message(visitor, SECRET)
            for ws in (a, b):
                code, frames = await frames_until_closed(ws)
                assert code == 4401
                assert not any(SECRET in frame for frame in frames)
            assert await texts_until(c, SECRET)
        assert laptop.get("/api/me").status_code == 401
        assert phone.get("/api/me").status_code == 401
        # Enabled again, the old sessions stay ended; a new sign-in works.
        assert boss.post(f"/api/users/{me['id']}/enable").status_code == 200
        assert laptop.get("/api/me").status_code == 401
        with login(one.url, adviser.email, adviser.password) as again:
            assert again.get("/api/me").status_code == 200


def test_only_managers_disable_and_never_themselves(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    colleague = office_login(live, "port-argent", 1)
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with (
        login(live.url, adviser.email, adviser.password) as client,
        login(live.url, colleague.email, colleague.password) as other,
        login(live.url, manager.email, manager.password) as boss,
    ):
        target = other.get("/api/me").json()["id"]
        assert client.post(f"/api/users/{target}/disable").status_code == 403
        del boss.headers["X-CSRF-Token"]
        assert boss.post(f"/api/users/{target}/disable").status_code == 403
        boss.headers["X-CSRF-Token"] = boss.cookies["concierge_csrf"]
        mine = boss.get("/api/me").json()["id"]
        refused = boss.post(f"/api/users/{mine}/disable", headers={"accept-language": "en"})
        assert refused.status_code == 409
        assert refused.json()["detail"] == "You cannot disable your own account."
        assert boss.post("/api/users/999999/disable").status_code == 404
        assert boss.post(f"/api/users/{2**63}/disable").status_code in (404, 422)
        assert other.get("/api/me").status_code == 200


async def test_a_session_removed_behind_the_sockets_back_is_noticed(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket that missed the stream's notice (say, a session deleted by hand in Redis)
    still closes: it re-reads its session every few seconds."""
    monkeypatch.setattr("app.web.ws.SESSION_CHECK", 0.3)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        session_id = client.cookies[SESSION_COOKIE]
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers=cookie_of(client)
        ) as ws:
            await recv_until(ws, "hello")
            redis = Redis.from_url(live.settings.redis_url)
            await redis.delete(keys.session(session_id))
            await redis.aclose()
            code, _ = await frames_until_closed(ws)
            assert code == 4401


def test_cli_disable_ends_sessions_at_once(live: LiveServer) -> None:
    import subprocess

    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        env = {
            "REDIS_URL": live.settings.redis_url,
            "DATABASE_URL": live.settings.sqlalchemy_url,
            "CONCIERGE_SECRET_KEY": "test-secret-" + "x" * 40,
            "PATH": "/usr/bin:/bin",
        }
        result = subprocess.run(
            [*CONCIERGE, "user", "disable", adviser.email.upper()],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert client.get("/api/me").status_code == 401
        again = client.post(
            "/login",
            data={
                "email": adviser.email,
                "password": adviser.password,
                "csrf_token": client.headers["X-CSRF-Token"],
            },
        )
        assert again.status_code == 401
        assert json.dumps(result.stdout).count("disabled") == 1
