"""The visitor and adviser websockets over a real server, Redis and database."""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import Any

import pytest
import websockets
from itsdangerous import URLSafeTimedSerializer
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, login, office_login

ACCOUNT = "chat-port-argent"


_skipped: weakref.WeakKeyDictionary[Any, list[dict[str, Any]]] = weakref.WeakKeyDictionary()


async def recv_until(ws: Any, wanted: str, timeout: float = 5) -> dict[str, Any]:
    """The next frame of type ``wanted``; frames of other types are kept for later calls."""
    stash = _skipped.setdefault(ws, [])
    for i, frame in enumerate(stash):
        if frame["type"] == wanted:
            return stash.pop(i)
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if frame["type"] == wanted:
            return frame
        stash.append(frame)


async def send_message(ws: Any, text: str, client_id: str = "client-0001") -> dict[str, Any]:
    await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
    return await recv_until(ws, "ack")


def visitor_url(live: LiveServer, token: str | None = None, **params: str) -> str:
    query = f"account={params.pop('account', ACCOUNT)}"
    if token:
        query += f"&token={token}"
    for key, value in params.items():
        query += f"&{key}={value}"
    return f"{live.ws_url}/ws/visitor?{query}"


async def close_code(url: str) -> int:
    try:
        async with websockets.connect(url) as ws:
            await ws.recv()
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code
    raise AssertionError("the socket was not closed")


async def test_hello_gives_a_token_strings_and_privacy_notice(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        hello = json.loads(await ws.recv())
    assert hello["type"] == "hello"
    assert hello["token"]
    assert hello["office"] == "Office de Tourisme de Port-Argent"
    assert hello["messages"] == []
    assert "365 days" in hello["privacy"]
    assert hello["privacy_url"].endswith("/privacy/baie-dargent?lang=en")
    assert hello["strings"]["widget.send"] == "Send"


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        await recv_until(ws, "hello")
        cases = [
            ({"type": "message", "client_id": "client-0001", "text": "   "}, "empty"),
            ({"type": "message", "client_id": "client-0002", "text": "x" * 4001}, "too_long"),
            ("{not json", "malformed"),
            ({"type": "shout", "text": "hi"}, "unknown_type"),
            ({"type": "message", "client_id": "!", "text": "hi"}, "malformed"),
            ([1, 2], "malformed"),
        ]
        for frame, code in cases:
            await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
            error = await recv_until(ws, "error")
            assert error["code"] == code
            assert error["message"]
        ack = await send_message(ws, "Still here?")
        assert ack["message_id"] > 0
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
        messages = client.get(f"/api/conversations/{rows[0]['id']}").json()["messages"]
    assert [m["text"] for m in messages] == ["Still here?"]


async def test_same_client_id_twice_is_stored_once(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        await recv_until(ws, "hello")
        first = await send_message(ws, "Bonjour", client_id="same-id-123")
        second = await send_message(ws, "Bonjour", client_id="same-id-123")
    assert first["message_id"] == second["message_id"]
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
        assert len(rows) == 1
        messages = client.get(f"/api/conversations/{rows[0]['id']}").json()["messages"]
    assert len(messages) == 1


async def test_reconnect_with_token_resumes_the_conversation(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        await send_message(ws, "Premier message")
    async with websockets.connect(visitor_url(live, token)) as ws:
        hello = await recv_until(ws, "hello")
        assert hello["token"] == token
        assert [m["text"] for m in hello["messages"]] == ["Premier message"]
        await send_message(ws, "Second message", client_id="client-0002")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
    assert len(rows) == 1 and rows[0]["preview"] == "Second message"


async def test_forged_tampered_expired_and_foreign_tokens_are_refused(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert await close_code(visitor_url(live, tampered)) == 4401
    forged = URLSafeTimedSerializer("not-the-secret", salt="concierge.visitor").dumps(
        {"a": ACCOUNT, "v": "someone-else"}
    )
    assert await close_code(visitor_url(live, forged)) == 4401
    # A token for one widget does not open another office's widget.
    assert await close_code(visitor_url(live, token, account="chat-saint-clair")) == 4401
    assert await close_code(visitor_url(live, account="chat-nowhere")) == 4404


async def test_expired_token_gets_its_own_close_code(make_server: Any) -> None:
    live = make_server(visitor_token_max_age=1)
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
    await asyncio.sleep(2.2)
    assert await close_code(visitor_url(live, token)) == 4410


async def test_a_visitor_sending_too_fast_is_told_to_wait(make_server: Any) -> None:
    # An hour-long window: the five messages fall in it however slow the machine is.
    live = make_server(visitor_rate=5, rate_window_seconds=3600)
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        await recv_until(ws, "hello")
        for i in range(5):
            await send_message(ws, f"msg {i}", client_id=f"client-{i:04d}")
        await ws.send(
            json.dumps({"type": "message", "client_id": "client-9999", "text": "one more"})
        )
        error = await recv_until(ws, "error")
        assert error["code"] == "rate_limited"
        assert error["message"] == "Please wait a moment before sending more messages."
    # Another visitor behind the same address is not blocked.
    async with websockets.connect(visitor_url(live)) as ws:
        await recv_until(ws, "hello")
        assert (await send_message(ws, "hello from the next room"))["message_id"] > 0


async def test_adviser_and_visitor_see_each_other_live(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = f"concierge_session={client.cookies['concierge_session']}"
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers={"cookie": cookie}
        ) as adviser_ws:
            await recv_until(adviser_ws, "hello")
            async with websockets.connect(visitor_url(live)) as visitor_ws:
                await recv_until(visitor_ws, "hello")
                await send_message(visitor_ws, "Y a-t-il un ferry ce soir ?")
                created = await recv_until(adviser_ws, "message.created")
                assert created["message"]["text"] == "Y a-t-il un ferry ce soir ?"
                conversation_id = created["conversation_id"]
                response = client.post(
                    f"/api/conversations/{conversation_id}/messages",
                    json={"text": "Oui, à 19 h 30."},
                )
                assert response.status_code == 201
                while True:
                    frame = await recv_until(visitor_ws, "message")
                    if frame["message"]["author"] == "adviser":
                        break
                assert frame["message"]["text"] == "Oui, à 19 h 30."
                assert frame["message"]["author_name"] == "Camille Martin"
                status = await recv_until(adviser_ws, "message.status")
                assert status["status"] == "sent"


async def test_other_offices_advisers_get_no_events(live: LiveServer) -> None:
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as client:
        cookie = f"concierge_session={client.cookies['concierge_session']}"
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers={"cookie": cookie}
        ) as adviser_ws:
            await recv_until(adviser_ws, "hello")
            async with websockets.connect(visitor_url(live)) as visitor_ws:
                await recv_until(visitor_ws, "hello")
                await send_message(visitor_ws, "Secret de Port-Argent")
            with pytest.raises(TimeoutError):
                await recv_until(adviser_ws, "message.created", timeout=1.5)


async def test_adviser_socket_needs_a_session_and_our_origin(live: LiveServer) -> None:
    assert await close_code(f"{live.ws_url}/ws/adviser") == 4401
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = f"concierge_session={client.cookies['concierge_session']}"
    try:
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser",
            additional_headers={"cookie": cookie},
            origin="http://evil.example",  # type: ignore[arg-type]
        ) as ws:
            await ws.recv()
    except ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code == 4403
    else:
        raise AssertionError("cross-site socket accepted")


async def first_seen_by_adviser(live: LiveServer, cookie: dict[str, str], visitor_ws: Any) -> str:
    """A first message ("one") from a visitor's socket just opened, as an adviser's socket
    (``cookie``) sees it: its event id, to resume from. The adviser's socket is closed after."""
    await recv_until(visitor_ws, "hello")
    url = f"{live.ws_url}/ws/adviser"
    async with websockets.connect(url, additional_headers=cookie) as ws:
        await recv_until(ws, "hello")
        await send_message(visitor_ws, "one", client_id="client-0001")
        seen = await recv_until(ws, "message.created")
    return str(seen["event_id"])


async def test_adviser_resumes_from_last_event_without_gap_or_duplicate(live: LiveServer) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
    url = f"{live.ws_url}/ws/adviser"
    async with websockets.connect(visitor_url(live)) as visitor_ws:
        last = await first_seen_by_adviser(live, cookie, visitor_ws)
        # Offline: two more messages arrive.
        await send_message(visitor_ws, "two", client_id="client-0002")
        await send_message(visitor_ws, "three", client_id="client-0003")
        async with websockets.connect(
            f"{url}?last_event_id={last}", additional_headers=cookie
        ) as ws:
            await recv_until(ws, "hello")
            texts = [(await recv_until(ws, "message.created"))["message"]["text"] for _ in range(2)]
            await send_message(visitor_ws, "four", client_id="client-0004")
            texts.append((await recv_until(ws, "message.created"))["message"]["text"])
            with pytest.raises(TimeoutError):
                await recv_until(ws, "message.created", timeout=1)
    assert texts == ["two", "three", "four"]


async def test_visitor_resumes_from_last_event(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        hello = await recv_until(ws, "hello")
        token = hello["token"]
        await send_message(ws, "question")
        own = await recv_until(ws, "message")
        last = own["event_id"]
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        conversation_id = client.get("/api/conversations").json()[0]["id"]
        client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "answer 1"})
        client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "answer 2"})
    async with websockets.connect(visitor_url(live, token, last_event_id=last)) as ws:
        hello = await recv_until(ws, "hello")
        assert hello["messages"] == []  # resuming: the backlog comes as events instead
        texts = [(await recv_until(ws, "message"))["message"]["text"] for _ in range(2)]
        with pytest.raises(TimeoutError):
            await recv_until(ws, "message", timeout=1)
    assert texts == ["answer 1", "answer 2"]


async def test_two_servers_share_one_redis(make_server: Any) -> None:
    a = make_server()
    b = make_server()
    adviser = office_login(a, "port-argent")
    with login(b.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
        async with websockets.connect(f"{b.ws_url}/ws/adviser", additional_headers=cookie) as adv:
            await recv_until(adv, "hello")
            async with websockets.connect(visitor_url(a)) as visitor:
                await recv_until(visitor, "hello")
                await send_message(visitor, "via server A")
                created = await recv_until(adv, "message.created")
                assert created["message"]["text"] == "via server A"
                client.post(
                    f"/api/conversations/{created['conversation_id']}/messages",
                    json={"text": "via server B"},
                )
                while True:
                    frame = await recv_until(visitor, "message")
                    if frame["message"]["author"] == "adviser":
                        break
                assert frame["message"]["text"] == "via server B"
