"""The live side of the visitor's socket: presence, typing both ways, the queue — over a real
server, Redis and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from redis import Redis as SyncRedis

from app import keys
from app.web import visitor_ws
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

DESTINATION = 1


def live_members(live: LiveServer) -> set[str]:
    client = SyncRedis.from_url(live.settings.redis_url)
    try:
        return {m.decode() for m in client.zrange(keys.live_visitors(DESTINATION), 0, -1)}
    finally:
        client.close()


@contextlib.asynccontextmanager
async def adviser_socket(live: LiveServer, client: httpx.Client) -> AsyncIterator[Any]:
    cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
    async with websockets.connect(f"{live.ws_url}/ws/adviser", additional_headers=cookie) as ws:
        await recv_until(ws, "hello")
        yield ws


async def no_frame(ws: Any, wanted: str, timeout: float = 1.0) -> None:
    with pytest.raises(TimeoutError):
        await recv_until(ws, wanted, timeout=timeout)


async def test_presence_follows_the_last_tab_and_advisers_are_told(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with websockets.connect(visitor_url(live)) as tab1:
            token = (await recv_until(tab1, "hello"))["token"]
            await send_message(tab1, "Le phare est-il ouvert ?")
            conversation = client.get("/api/conversations").json()[0]
            member = f"{conversation['account_id']}:"
            assert any(m.startswith(member) for m in live_members(live))
            async with adviser_socket(live, client) as inbox:
                async with websockets.connect(visitor_url(live, token)) as tab2:
                    await recv_until(tab2, "hello")
                    await no_frame(inbox, "visitor.presence")  # a second tab is no news
                await no_frame(inbox, "visitor.presence")  # nor its closing: tab1 is open
                assert any(m.startswith(member) for m in live_members(live))
            async with adviser_socket(live, client) as inbox:
                await tab1.close()
                gone = await recv_until(inbox, "visitor.presence")
                assert gone["live"] is False
                assert gone["conversation_id"] == conversation["id"]
                assert not any(m.startswith(member) for m in live_members(live))
                async with websockets.connect(visitor_url(live, token)) as again:
                    await recv_until(again, "hello")
                    back = await recv_until(inbox, "visitor.presence")
                    assert back["live"] is True and back["conversation_id"] == conversation["id"]


async def test_another_office_hears_nothing_of_a_visitors_presence(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as visitor:
        token = (await recv_until(visitor, "hello"))["token"]
        await send_message(visitor, "Bonjour")
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as client:
        async with adviser_socket(live, client) as inbox:
            async with websockets.connect(visitor_url(live, token)) as visitor:
                await recv_until(visitor, "hello")
                await visitor.send(json.dumps({"type": "typing"}))
            await no_frame(inbox, "visitor.presence", timeout=1.0)
            await no_frame(inbox, "typing", timeout=0.2)


async def test_visitor_typing_reaches_the_adviser_metered_and_never_stored(
    live: LiveServer,
) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with adviser_socket(live, client) as inbox:
            async with websockets.connect(visitor_url(live)) as visitor:
                await recv_until(visitor, "hello")
                # No conversation yet: typing is nobody's business.
                await visitor.send(json.dumps({"type": "typing"}))
                await no_frame(inbox, "typing", timeout=0.8)
                await send_message(visitor, "Une question")
                conversation_id = (await recv_until(inbox, "message.created"))["conversation_id"]
                for _ in range(50):  # a flood: one signal, and nothing costs a rate-limit hit
                    await visitor.send(json.dumps({"type": "typing"}))
                typing = await recv_until(inbox, "typing")
                assert typing["side"] == "visitor" and typing["active"] is True
                assert typing["conversation_id"] == conversation_id
                await no_frame(inbox, "typing", timeout=0.8)
                await visitor.send(json.dumps({"type": "typing", "active": False}))
                stopped = await recv_until(inbox, "typing")
                assert stopped["active"] is False
                await visitor.send(json.dumps({"type": "typing", "active": "maybe"}))
                assert (await recv_until(visitor, "error"))["code"] == "malformed"
                # A message still goes through after the flood: typing is not rate-limited.
                assert (await send_message(visitor, "Toujours là", "client-0002"))["message_id"]
                # Closing the widget mid-word says the visitor stopped.
                await visitor.send(json.dumps({"type": "typing"}))
                assert (await recv_until(inbox, "typing"))["active"] is True
            assert (await recv_until(inbox, "typing"))["active"] is False
        messages = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
    assert [m["text"] for m in messages] == ["Une question", "Toujours là"]


async def test_the_visitor_sees_the_adviser_typing(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with (
            websockets.connect(visitor_url(live)) as visitor,
            websockets.connect(visitor_url(live)) as stranger,
        ):
            await recv_until(visitor, "hello")
            await recv_until(stranger, "hello")
            await send_message(visitor, "Un vélo pour demain ?")
            await send_message(stranger, "Et le bac ?")
            rows = client.get("/api/conversations").json()
            conversation_id = next(r["id"] for r in rows if r["preview"].startswith("Un vélo"))
            async with adviser_socket(live, client) as inbox:
                await inbox.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))
                typing = await recv_until(visitor, "typing")
                assert typing == {"type": "typing", "name": "Camille Martin", "active": True}
                await inbox.send(
                    json.dumps(
                        {"type": "typing", "conversation_id": conversation_id, "active": False}
                    )
                )
                assert (await recv_until(visitor, "typing"))["active"] is False
            await no_frame(stranger, "typing", timeout=0.5)  # another visitor sees nothing


async def test_a_waiting_visitor_is_told_their_place_and_when_it_is_their_turn(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(visitor_ws, "QUEUE_REFRESH", 0.5)
    async with (
        websockets.connect(visitor_url(live)) as first,
        websockets.connect(visitor_url(live)) as second,
    ):
        for ws in (first, second):
            await recv_until(ws, "hello")
            # Before any message there is no conversation and so no queue.
            assert await recv_until(ws, "queue") == {
                "type": "queue",
                "position": 0,
                "estimate_seconds": None,
            }
        await send_message(first, "Premier")
        assert (await recv_until(first, "queue"))["position"] == 1
        await send_message(second, "Second")
        queued = await recv_until(second, "queue")
        assert queued["position"] == 2 and queued["estimate_seconds"] is None  # no figures yet
        await first.close()
        # The first visitor closed the widget: the live one goes first, told within seconds.
        assert (await recv_until(second, "queue", timeout=4))["position"] == 1
        adviser = office_login(live, "port-argent")
        with login(live.url, adviser.email, adviser.password) as client:
            async with adviser_socket(live, client):
                # The adviser comes online: the live visitor is assigned and told at once.
                assert (await recv_until(second, "queue", timeout=2))["position"] == 0
                await asyncio.sleep(1.2)
                await no_frame(second, "queue", timeout=0.3)  # nothing new: nothing sent


def live_expiry(live: LiveServer, prefix: str) -> float:
    """When the live entry of the one visitor whose member starts with ``prefix`` expires."""
    client = SyncRedis.from_url(live.settings.redis_url)
    try:
        entries = client.zrange(keys.live_visitors(DESTINATION), 0, -1, withscores=True)
    finally:
        client.close()
    (expiry,) = [score for member, score in entries if member.decode().startswith(prefix)]
    return float(expiry)


async def expiry_after(live: LiveServer, prefix: str, before: float) -> float:
    """The live entry's expiry once it has moved past ``before`` (within two seconds)."""
    for _ in range(40):
        expiry = live_expiry(live, prefix)
        if expiry > before:
            return expiry
        await asyncio.sleep(0.05)
    raise AssertionError(f"the live entry still expires at {before}")


async def test_each_kind_of_frame_says_the_visitor_is_still_here(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every frame touches (in use, once per TOUCH_EVERY seconds): a message's touch comes after
    # it is queued for storing, a ping's after its pong, a typing frame's after its signal.
    monkeypatch.setattr(visitor_ws, "TOUCH_EVERY", 0)
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, "Le phare est-il ouvert ?")
        adviser = office_login(live, "port-argent")
        with login(live.url, adviser.email, adviser.password) as client:
            account_id = client.get("/api/conversations").json()[0]["account_id"]
        prefix = f"{account_id}:"
        expiry = await expiry_after(live, prefix, 0)
        frames = [
            json.dumps({"type": "message", "client_id": "client-0002", "text": "Et le musée ?"}),
            json.dumps({"type": "ping"}),
            json.dumps({"type": "typing"}),
        ]
        for frame in frames:
            await asyncio.sleep(1.1)  # the expiry is counted in seconds from now
            await visitor.send(frame)
            expiry = await expiry_after(live, prefix, expiry + 1)
        assert (await recv_until(visitor, "ack"))["client_id"] == "client-0002"
        assert await recv_until(visitor, "pong") == {"type": "pong"}
