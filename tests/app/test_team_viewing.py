"""Who views and who types, over the adviser socket: checked per office, signalled live, never
stored — real server, Redis and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any

import websockets

from tests.app.test_assignment import online
from tests.app.test_team_presence import me
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login


async def send(ws: Any, frame: Any) -> None:
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))


async def nothing_of(ws: Any, kind: str, seconds: float = 0.8) -> None:
    """No frame of type ``kind`` arrives within ``seconds``."""
    with contextlib.suppress(TimeoutError):
        frame = await recv_until(ws, kind, timeout=seconds)
        raise AssertionError(f"unexpected {kind}: {frame}")


async def signal_of(ws: Any, kind: str, user_id: int) -> dict[str, Any]:
    while True:
        frame = await recv_until(ws, kind)
        if frame.get("user_id") == user_id:
            return frame


async def a_chat(live: LiveServer) -> tuple[Any, int]:
    """A visitor's open widget with one message; returns the socket and the conversation id."""
    visitor = await websockets.connect(visitor_url(live))
    await recv_until(visitor, "hello")
    await send_message(visitor, "Bonsoir, le ferry part à quelle heure ?")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
    return visitor, int(rows[0]["id"])


async def test_viewing_and_typing_reach_colleagues_and_leave_nothing_behind(
    live: LiveServer,
) -> None:
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    visitor, conversation_id = await a_chat(live)
    with (
        login(live.url, camille.email, camille.password) as a,
        login(live.url, hugo.email, hugo.password) as b,
    ):
        camille_id = me(a)
        viewers = f"/api/conversations/{conversation_id}/viewers"
        async with online(live, b) as hugo_ws:
            async with online(live, a) as camille_ws:
                await send(camille_ws, {"type": "viewing", "conversation_id": conversation_id})
                seen = await signal_of(hugo_ws, "viewing", camille_id)
                assert seen["conversation_id"] == conversation_id
                assert seen["name"] == "Camille Martin" and seen["active"] is True
                assert b.get(viewers).json() == [{"user_id": camille_id, "name": "Camille Martin"}]
                # The inbox repeats "viewing" every 20 s: it tells nobody anything new.
                await send(camille_ws, {"type": "viewing", "conversation_id": conversation_id})
                await nothing_of(hugo_ws, "viewing")

                # Typing: one signal per conversation every 2 s, however many keys.
                for _ in range(5):
                    await send(camille_ws, {"type": "typing", "conversation_id": conversation_id})
                typing = await signal_of(hugo_ws, "typing", camille_id)
                assert typing["side"] == "adviser" and typing["active"] is True
                assert typing["name"] == "Camille Martin"
                await nothing_of(hugo_ws, "typing")
                await asyncio.sleep(2.1)
                await send(camille_ws, {"type": "typing", "conversation_id": conversation_id})
                assert (await signal_of(hugo_ws, "typing", camille_id))["active"] is True
                # She stops: told at once, throttle or not.
                await send(
                    camille_ws,
                    {"type": "typing", "conversation_id": conversation_id, "active": False},
                )
                assert (await signal_of(hugo_ws, "typing", camille_id))["active"] is False

                await send(camille_ws, {"type": "viewing", "conversation_id": None})
                left = await signal_of(hugo_ws, "viewing", camille_id)
                assert left["active"] is False
                assert b.get(viewers).json() == []

                # Viewing again, then the socket closes while she types: both end.
                await send(camille_ws, {"type": "viewing", "conversation_id": conversation_id})
                await signal_of(hugo_ws, "viewing", camille_id)
                await send(camille_ws, {"type": "typing", "conversation_id": conversation_id})
                await signal_of(hugo_ws, "typing", camille_id)
            assert (await signal_of(hugo_ws, "viewing", camille_id))["active"] is False
            assert (await signal_of(hugo_ws, "typing", camille_id))["active"] is False
            assert b.get(viewers).json() == []
    await visitor.close()


async def test_viewing_lapses_when_the_inbox_stops_saying_so(live: LiveServer) -> None:
    camille = office_login(live, "port-argent")
    visitor, conversation_id = await a_chat(live)
    with login(live.url, camille.email, camille.password) as a:
        async with online(live, a) as ws:
            await send(ws, {"type": "viewing", "conversation_id": conversation_id})
            viewers = f"/api/conversations/{conversation_id}/viewers"
            for _ in range(50):
                if a.get(viewers).json():
                    break
                await asyncio.sleep(0.05)
            assert [v["name"] for v in a.get(viewers).json()] == ["Camille Martin"]
            clock = live.app.state.services.clock  # type: ignore[attr-defined]
            clock.set(clock.now() + timedelta(seconds=61))  # a minute without a word
            assert a.get(viewers).json() == []
    await visitor.close()


async def test_other_offices_cannot_view_type_or_list_viewers(live: LiveServer) -> None:
    camille, lea = office_login(live, "port-argent"), office_login(live, "saint-clair")
    visitor, conversation_id = await a_chat(live)
    with (
        login(live.url, camille.email, camille.password) as a,
        login(live.url, lea.email, lea.password) as c,
    ):
        async with online(live, a) as camille_ws, online(live, c) as lea_ws:
            for kind in ("viewing", "typing"):
                await send(lea_ws, {"type": kind, "conversation_id": conversation_id})
                error = await recv_until(lea_ws, "error")
                assert error["code"] == "not_found"
                assert error["message"] == (  # in the adviser's language (French by default)
                    "Cette conversation n'existe pas ou vous n'y avez pas accès."
                )
                await send(lea_ws, {"type": kind, "conversation_id": 987654})
                assert (await recv_until(lea_ws, "error"))["code"] == "not_found"
            await nothing_of(camille_ws, "viewing")
            await nothing_of(camille_ws, "typing", 0.2)
            assert c.get(f"/api/conversations/{conversation_id}/viewers").status_code == 404
            assert c.get("/api/conversations/987654/viewers").status_code == 404
            # Camille's own viewing is not told to another office's adviser.
            await send(camille_ws, {"type": "viewing", "conversation_id": conversation_id})
            await nothing_of(lea_ws, "viewing")
            assert len(a.get(f"/api/conversations/{conversation_id}/viewers").json()) == 1
    await visitor.close()


async def test_malformed_frames_get_error_frames_and_the_socket_stays_open(
    live: LiveServer,
) -> None:
    camille = office_login(live, "port-argent")
    visitor, conversation_id = await a_chat(live)
    with login(live.url, camille.email, camille.password) as a:
        cases: list[tuple[Any, str]] = [
            ("{not json", "malformed"),
            ("[1, 2]", "malformed"),
            ({"type": "viewing"}, "malformed"),
            ({"type": "viewing", "conversation_id": "12"}, "malformed"),
            ({"type": "typing", "conversation_id": True}, "malformed"),
            ({"type": "typing", "conversation_id": conversation_id, "active": "no"}, "malformed"),
            ({"type": "typing", "conversation_id": None}, "malformed"),
            ({"type": "typing", "conversation_id": -3}, "malformed"),
            ("x" * 5000, "malformed"),
            ({"type": "shout"}, "unknown_type"),
            ({"conversation_id": conversation_id}, "unknown_type"),
        ]
        async with online(live, a) as ws:
            for frame, code in cases:
                await send(ws, frame)
                error = await recv_until(ws, "error")
                assert error["code"] == code, frame
                assert error["message"]
            await send(ws, {"type": "ping"})
            await send(ws, {"type": "viewing", "conversation_id": conversation_id})
            await nothing_of(ws, "error", 0.5)
            viewers = f"/api/conversations/{conversation_id}/viewers"
            for _ in range(50):
                if a.get(viewers).json():
                    break
                await asyncio.sleep(0.05)
            assert len(a.get(viewers).json()) == 1  # the socket still works
    await visitor.close()


async def test_the_visitor_side_gets_the_advisers_typing(live: LiveServer) -> None:
    """The chat visitor's audience is on the signal, so their widget can say who is typing."""
    camille = office_login(live, "port-argent")
    visitor, conversation_id = await a_chat(live)
    with login(live.url, camille.email, camille.password) as a:
        async with online(live, a) as ws, online(live, a) as other_tab:
            await send(ws, {"type": "typing", "conversation_id": conversation_id})
            frame = await recv_until(other_tab, "typing")
            assert frame["visitor_key"].startswith("chat-port-argent:")
            assert frame["office_id"] == a.get("/api/me").json()["office_id"]
    await visitor.close()
