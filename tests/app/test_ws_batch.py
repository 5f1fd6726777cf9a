"""Sockets that ask for events together (``?batch=1``): the events waiting when the socket is
free to send come in one frame, a JSON array, in the stream's order; the same events, each
once, as a socket that did not ask gets one frame each. Real server, Redis and database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from app.web import ws as ws_module
from tests.app.test_ws import first_seen_by_adviser, recv_until, send_message, visitor_url
from tests.conftest import DemoLogin, LiveServer, login, office_login


async def frames_until(ws: Any, done: Any, timeout: float = 5) -> list[Any]:
    """Every websocket frame, parsed, until ``done(events so far)`` holds."""
    frames: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(flat(frames)):
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time())))
    return frames


def compact(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def flat(frames: list[Any]) -> list[dict[str, Any]]:
    return [event for frame in frames for event in (frame if isinstance(frame, list) else [frame])]


def has_message(text: str, kind: str = "message.created") -> Any:
    def done(events: list[dict[str, Any]]) -> bool:
        return any(e["type"] == kind and e.get("message", {}).get("text") == text for e in events)

    return done


def staff_events(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The stream's events (ephemeral signals and presence aside): (event id, type)."""
    return [(e["event_id"], e["type"]) for e in events if e.get("event_id")]


def signed_in(live: LiveServer) -> tuple[DemoLogin, dict[str, str]]:
    """An adviser of Port-Argent and the cookie header of a session of theirs."""
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        return adviser, {"cookie": f"concierge_session={client.cookies['concierge_session']}"}


async def test_an_adviser_socket_asking_gets_a_message_and_its_line_in_one_frame(
    live: LiveServer,
) -> None:
    adviser, cookie = signed_in(live)
    url = f"{live.ws_url}/ws/adviser"
    async with (
        websockets.connect(f"{url}?batch=1", additional_headers=cookie) as together,
        websockets.connect(url, additional_headers=cookie) as apart,
    ):
        hello = json.loads(await together.recv())
        assert hello["type"] == "hello" and hello["batch"] is True
        plain = json.loads(await apart.recv())
        assert plain["type"] == "hello" and "batch" not in plain
        async with websockets.connect(visitor_url(live)) as visitor_ws:
            await recv_until(visitor_ws, "hello")
            await send_message(visitor_ws, "Le musée ouvre-t-il lundi ?", "client-0001")
            await send_message(visitor_ws, "Et le dimanche ?", "client-0002")
            grouped = await frames_until(together, has_message("Et le dimanche ?"))
            single = await frames_until(apart, has_message("Et le dimanche ?"))
            # A reply: the message, its conversation's line and its status, published together.
            created = next(e for e in flat(grouped) if e["type"] == "message.created")
            path = f"/api/conversations/{created['conversation_id']}/messages"
            with login(live.url, adviser.email, adviser.password) as client:
                reply = client.post(path, json={"text": "Oui, de 10 h à 18 h."}).json()

            def its_status(events: list[dict[str, Any]]) -> bool:
                return any(e.get("message_id") == reply["id"] for e in events)

            grouped += await frames_until(together, its_status)
            single += await frames_until(apart, its_status)
    # Without asking, one event per frame, never an array.
    assert all(isinstance(frame, dict) for frame in single)
    # Asking: the same events of the stream, in the same order, each once…
    assert staff_events(flat(grouped)) == staff_events(flat(single))
    ids = [event_id for event_id, _ in staff_events(flat(grouped))]
    assert len(ids) == len(set(ids))
    # …in fewer frames: a message and the conversation line it changed come together.
    arrays = [frame for frame in grouped if isinstance(frame, list)]
    assert any(
        {"message.created", "conversation.changed"} <= {event["type"] for event in frame}
        for frame in arrays
    ), grouped
    reply_frame = next(f for f in arrays if any(e.get("message_id") == reply["id"] for e in f))
    assert [e["type"] for e in reply_frame][-3:] == [
        "message.created",
        "conversation.changed",
        "message.status",
    ]
    assert reply_frame[-3]["message"]["id"] == reply["id"]
    assert all(len(frame) > 1 for frame in arrays)  # one event alone is a frame of its own
    assert len(grouped) < len(single)


async def test_a_resume_asking_gets_its_backlog_together_then_live_events(
    live: LiveServer,
) -> None:
    _, cookie = signed_in(live)
    url = f"{live.ws_url}/ws/adviser"
    async with websockets.connect(visitor_url(live)) as visitor_ws:
        last = await first_seen_by_adviser(live, cookie, visitor_ws)
        for n, text in enumerate(["two", "three", "four"], start=2):  # while it is away
            await send_message(visitor_ws, text, client_id=f"client-000{n}")
        async with (
            websockets.connect(
                f"{url}?last_event_id={last}&batch=1", additional_headers=cookie
            ) as together,
            websockets.connect(f"{url}?last_event_id={last}", additional_headers=cookie) as apart,
        ):
            assert json.loads(await together.recv())["type"] == "hello"
            assert json.loads(await apart.recv())["type"] == "hello"
            grouped = await frames_until(together, has_message("four"))
            single = await frames_until(apart, has_message("four"))
            # The backlog of several events is one frame (BATCH_MAX is larger).
            backlog = grouped[0]
            assert isinstance(backlog, list)
            assert [e["message"]["text"] for e in backlog if e["type"] == "message.created"] == [
                "two",
                "three",
                "four",
            ]
            await send_message(visitor_ws, "five", client_id="client-0005")
            grouped += await frames_until(together, has_message("five"))
            single += await frames_until(apart, has_message("five"))
    assert staff_events(flat(grouped)) == staff_events(flat(single))
    texts = [e["message"]["text"] for e in flat(grouped) if e["type"] == "message.created"]
    assert texts == ["two", "three", "four", "five"]  # no gap, no duplicate, nothing of before


async def test_a_visitor_socket_asking_gets_its_backlog_together(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live, batch="1")) as ws:
        hello = await recv_until(ws, "hello")
        assert hello["batch"] is True
        token = hello["token"]
        await send_message(ws, "question")
        last = (await recv_until(ws, "message"))["event_id"]
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        conversation_id = client.get("/api/conversations").json()[0]["id"]
        for text in ("answer 1", "answer 2"):
            response = client.post(
                f"/api/conversations/{conversation_id}/messages", json={"text": text}
            )
            assert response.status_code == 201
    async with websockets.connect(visitor_url(live, token, last_event_id=last, batch="1")) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        frames = await frames_until(ws, has_message("answer 2", kind="message"))
    backlog = next(frame for frame in frames if isinstance(frame, list))
    assert [e["message"]["text"] for e in backlog if e["type"] == "message"] == [
        "answer 1",
        "answer 2",
    ]
    texts = [e["message"]["text"] for e in flat(frames) if e["type"] == "message"]
    assert texts == ["answer 1", "answer 2"]


async def backlog_of_replies(live: LiveServer, texts: list[str]) -> tuple[dict[str, str], str]:
    """A visitor's conversation, then ``texts`` answered over HTTP while the adviser's socket
    is away: the adviser's cookie header and the last event id their socket had seen."""
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
        async with websockets.connect(visitor_url(live)) as visitor_ws:
            await recv_until(visitor_ws, "hello")
            async with websockets.connect(
                f"{live.ws_url}/ws/adviser", additional_headers=cookie
            ) as ws:
                await recv_until(ws, "hello")
                await send_message(visitor_ws, "Bonsoir")
                seen = await recv_until(ws, "message.created")
        path = f"/api/conversations/{seen['conversation_id']}/messages"
        for text in texts:
            assert client.post(path, json={"text": text}).status_code == 201
    return cookie, seen["event_id"]


async def resumed(live: LiveServer, cookie: dict[str, str], last: str, query: str) -> list[Any]:
    """The frames of a socket resuming from ``last`` until the last reply has come."""
    url = f"{live.ws_url}/ws/adviser?last_event_id={last}{query}"
    async with websockets.connect(url, additional_headers=cookie, max_size=None) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        return await frames_until(ws, has_message("end"))


def through_end(frames: list[Any]) -> list[tuple[str, str]]:
    """The stream's events of ``frames`` up to the last reply's (a frame may hold more)."""
    events = flat(frames)
    end = next(i for i, e in enumerate(events) if e.get("message", {}).get("text") == "end")
    return staff_events(events[: end + 1])


async def test_a_long_backlog_comes_in_frames_of_at_most_64_events(live: LiveServer) -> None:
    cookie, last = await backlog_of_replies(live, [f"réponse {n}" for n in range(30)] + ["end"])
    grouped = await resumed(live, cookie, last, "&batch=1")
    single = await resumed(live, cookie, last, "")
    assert len(flat(single)) > 64  # more than one frame's worth
    assert through_end(grouped) == through_end(single)
    sizes = [len(frame) if isinstance(frame, list) else 1 for frame in grouped]
    assert sizes[0] == 64 and all(size <= 64 for size in sizes), sizes


async def test_a_backlog_of_long_messages_comes_in_frames_of_bounded_text(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No more events go in a frame once its text has reached BATCH_CHARS (made small here:
    the server runs in this process)."""
    monkeypatch.setattr(ws_module, "BATCH_CHARS", 10_000)
    long_texts = [f"{n} " + "é" * 3000 for n in range(8)]
    cookie, last = await backlog_of_replies(live, [*long_texts, "end"])
    grouped = await resumed(live, cookie, last, "&batch=1")
    single = await resumed(live, cookie, last, "")
    assert through_end(grouped) == through_end(single)
    arrays = [frame for frame in grouped if isinstance(frame, list)]
    assert len(arrays) >= 2, [len(json.dumps(frame)) for frame in grouped]
    for frame in arrays:
        # Under the bound before its last event (the bound counts each event's text, compact).
        before_last = sum(len(compact(event)) for event in frame[:-1])
        assert before_last < 10_000, before_last
    texts = [e["message"]["text"] for e in flat(grouped) if e["type"] == "message.created"]
    assert texts == [*long_texts, "end"]
