"""Replies over the adviser's socket (app.web.ws_reply): stored and sent as over HTTP, with the
same checks and refusals in the adviser's language; the same client id stored once, whichever
way it came; a session ended, or its user disabled or their password changed, refuses them.
Real server, Redis and database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from app.db import Database
from app.models import User
from app.security import hash_password
from app.web import ws as ws_module
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import DemoLogin, LiveServer, login, office_login


@asynccontextmanager
async def adviser_socket(live: LiveServer, client: Any, lang: str = "fr") -> AsyncIterator[Any]:
    cookie = f"concierge_session={client.cookies['concierge_session']}"
    async with websockets.connect(
        f"{live.ws_url}/ws/adviser", additional_headers={"cookie": cookie, "accept-language": lang}
    ) as ws:
        await recv_until(ws, "hello")
        yield ws


async def ask(ws: Any, **frame: Any) -> dict[str, Any]:
    """Sends a reply frame; the frame answering it (events in between are skipped)."""
    await ws.send(json.dumps({"type": "reply", **frame}))
    while True:
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if answer["type"] in ("reply.stored", "reply.refused"):
            return answer


async def visitor_writes(live: LiveServer, adviser: DemoLogin, text: str) -> int:
    """A visitor opens a conversation with ``text``: its id, as ``adviser`` lists it."""
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, text)
    with login(live.url, adviser.email, adviser.password) as client:
        return int(client.get("/api/conversations").json()[0]["id"])


async def test_a_reply_over_the_socket_reaches_the_visitor_once(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with (
            adviser_socket(live, client) as ws,
            websockets.connect(visitor_url(live)) as visitor,
        ):
            await recv_until(visitor, "hello")
            await send_message(visitor, "Le phare est-il ouvert ?")
            conversation_id = (await recv_until(ws, "message.created"))["conversation_id"]

            stored = await ask(
                ws, conversation_id=conversation_id, text="Oui, jusqu'à 19 h.", client_id="s-1"
            )
            assert stored["type"] == "reply.stored" and stored["client_id"] == "s-1"
            message = stored["message"]
            assert message["text"] == "Oui, jusqu'à 19 h." and message["direction"] == "out"
            assert message["author_name"] == "Camille Martin"
            heard = await recv_until(visitor, "message")
            while heard["message"]["author"] != "adviser":
                heard = await recv_until(visitor, "message")
            assert heard["message"]["text"] == "Oui, jusqu'à 19 h."

            # Again over the socket, then over HTTP: the same reply, not a second one.
            again = await ask(
                ws, conversation_id=conversation_id, text="Oui, jusqu'à 19 h.", client_id="s-1"
            )
            assert again["type"] == "reply.stored" and again["message"]["id"] == message["id"]
            http = client.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": "Oui, jusqu'à 19 h.", "client_id": "s-1"},
            )
            assert http.status_code == 201 and http.json()["id"] == message["id"]
        thread = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        assert [m["text"] for m in thread if m["direction"] == "out"] == ["Oui, jusqu'à 19 h."]


async def test_refusals_come_back_in_the_adviser_s_language_and_store_nothing(
    live: LiveServer,
) -> None:
    adviser = office_login(live, "port-argent")
    other = office_login(live, "saint-clair")
    conversation_id = await visitor_writes(live, adviser, "Un parking près du port ?")
    with login(live.url, other.email, other.password) as client:
        async with adviser_socket(live, client, lang="en") as ws:
            for frame, code, status in (
                ({"conversation_id": conversation_id, "text": "Non.", "client_id": "r-1"},
                 "error.conversation_not_found", 404),  # another office's: as if it did not exist
                ({"conversation_id": 10**30, "text": "x", "client_id": "r-2"}, "malformed", 422),
                ({"conversation_id": conversation_id, "text": "x", "client_id": "bad id"},
                 "malformed", 422),
                ({"conversation_id": conversation_id, "text": 7, "client_id": "r-3"},
                 "malformed", 422),
                ({"conversation_id": conversation_id, "text": "x"}, "malformed", 422),
            ):  # fmt: skip
                refused = await ask(ws, **frame)
                assert refused["type"] == "reply.refused", frame
                assert (refused["code"], refused["status"]) == (code, status), frame
                assert refused["message"] and "{" not in refused["message"]
                if code == "error.conversation_not_found":
                    assert (
                        refused["message"]
                        == "This conversation does not exist or is not yours to see."
                    )
            # The socket stays open and still answers.
            await ws.send(json.dumps({"type": "viewing", "conversation_id": None}))
    with login(live.url, adviser.email, adviser.password) as client:
        async with adviser_socket(live, client) as ws:
            empty = await ask(ws, conversation_id=conversation_id, text="   ", client_id="r-4")
            assert (empty["type"], empty["status"]) == ("reply.refused", 422)
            long = await ask(ws, conversation_id=conversation_id, text="a" * 4001, client_id="r-5")
            assert (long["type"], long["status"]) == ("reply.refused", 422)
        thread = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        assert [m["direction"] for m in thread] == ["in"]


async def test_a_reply_over_a_socket_whose_session_ended_is_refused(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    conversation_id = await visitor_writes(live, adviser, "Bonsoir")
    with login(live.url, adviser.email, adviser.password) as client:
        async with adviser_socket(live, client) as ws:
            client.post("/logout", data={"csrf_token": client.headers["X-CSRF-Token"]})
            await ws.send(
                json.dumps(
                    {
                        "type": "reply",
                        "conversation_id": conversation_id,
                        "text": "Bonsoir !",
                        "client_id": "l-1",
                    }
                )
            )
            # Refused (401), unless the socket heard of the logout first and closed (4401).
            try:
                answer = await recv_until(ws, "reply.refused")
                assert answer["status"] == 401
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4401
    with login(live.url, adviser.email, adviser.password) as client:
        thread = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        assert [m["direction"] for m in thread] == ["in"]


async def set_user(live: LiveServer, email: str, **values: Any) -> dict[str, Any]:
    """Changes the user's row in the database alone, as another worker or the CLI would,
    leaving their sessions in Redis; returns what the changed columns held."""
    db = Database(live.settings.sqlalchemy_url)
    try:
        async with db.session() as session:
            user = (await session.exec(select(User).where(User.email == email))).one()
            before = {key: getattr(user, key) for key in values}
            for key, value in values.items():
                setattr(user, key, value)
            session.add(user)
            await session.commit()
        return before
    finally:
        await db.dispose()


async def test_a_reply_by_a_user_no_longer_entitled_is_refused_though_the_session_is_kept(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session still in Redis, the user read again for the reply says no: disabled, or a
    password that changed since the session opened. Nothing is stored; put back, it is."""
    monkeypatch.setattr(ws_module, "SESSION_CHECK", 3600.0)  # the socket's own look stays away
    adviser = office_login(live, "port-argent")
    conversation_id = await visitor_writes(live, adviser, "Bonsoir")
    with login(live.url, adviser.email, adviser.password) as client:
        async with adviser_socket(live, client, lang="en") as ws:
            for n, change in enumerate(
                ({"active": False}, {"password_hash": hash_password("another-password-1")})
            ):
                before = await set_user(live, adviser.email, **change)
                refused = await ask(
                    ws, conversation_id=conversation_id, text="Bonsoir !", client_id=f"e-{n}"
                )
                assert refused == {
                    "type": "reply.refused",
                    "client_id": f"e-{n}",
                    "code": "login",
                    "status": 401,
                    "message": refused["message"],
                }, change
                assert refused["message"] and "{" not in refused["message"]
                await set_user(live, adviser.email, **before)
            stored = await ask(
                ws, conversation_id=conversation_id, text="Bonsoir !", client_id="e-2"
            )
            assert stored["type"] == "reply.stored"
            assert stored["message"]["author_name"] == "Camille Martin"
        thread = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        assert [m["text"] for m in thread if m["direction"] == "out"] == ["Bonsoir !"]


async def test_an_http_reply_by_a_user_no_longer_entitled_is_refused_and_stores_nothing(
    live: LiveServer,
) -> None:
    """The inbox's own way to reply (POST): the adviser is read in the reply's unit of work,
    and a session still in Redis whose user was disabled or whose password changed is refused
    401 with a readable message, nothing stored; put back, the same reply is stored once."""
    adviser = office_login(live, "port-argent")
    conversation_id = await visitor_writes(live, adviser, "Bonsoir")
    path = f"/api/conversations/{conversation_id}/messages"
    with login(live.url, adviser.email, adviser.password) as client:
        for n, change in enumerate(
            ({"active": False}, {"password_hash": hash_password("another-password-1")})
        ):
            before = await set_user(live, adviser.email, **change)
            refused = client.post(path, json={"text": "Bonsoir !", "client_id": f"h-{n}"})
            assert refused.status_code == 401, change
            assert refused.json()["detail"] and "{" not in refused.json()["detail"]
            await set_user(live, adviser.email, **before)
        stored = client.post(path, json={"text": "Bonsoir !", "client_id": "h-2"})
        assert stored.status_code == 201
        assert stored.json()["author_name"] == "Camille Martin"
        again = client.post(path, json={"text": "Bonsoir !", "client_id": "h-2"})
        assert again.status_code == 201 and again.json()["id"] == stored.json()["id"]
        thread = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        assert [m["text"] for m in thread if m["direction"] == "out"] == ["Bonsoir !"]
    token = "t" * 32  # a CSRF pair of its own, but no session at all
    with httpx.Client(base_url=live.url, cookies={"concierge_csrf": token}) as stranger:
        refused = stranger.post(path, json={"text": "Bonsoir !"}, headers={"X-CSRF-Token": token})
        assert refused.status_code == 401
