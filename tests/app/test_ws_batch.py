"""Sockets that ask for events together (``?batch=1``): the events waiting when the socket is
free to send come in one frame, a JSON array, in the stream's order; the same events, each
once, as a socket that did not ask gets one frame each. Real server, Redis and database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login


async def frames_until(ws: Any, done: Any, timeout: float = 5) -> list[Any]:
    """Every websocket frame, parsed, until ``done(events so far)`` holds."""
    frames: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(flat(frames)):
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time())))
    return frames


def flat(frames: list[Any]) -> list[dict[str, Any]]:
    return [event for frame in frames for event in (frame if isinstance(frame, list) else [frame])]


def has_message(text: str, kind: str = "message.created") -> Any:
    def done(events: list[dict[str, Any]]) -> bool:
        return any(e["type"] == kind and e.get("message", {}).get("text") == text for e in events)

    return done


def staff_events(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The stream's events (ephemeral signals and presence aside): (event id, type)."""
    return [(e["event_id"], e["type"]) for e in events if e.get("event_id")]


async def test_an_adviser_socket_asking_gets_a_message_and_its_line_in_one_frame(
    live: LiveServer,
) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
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
    assert all(len(frame) > 1 for frame in arrays)  # one event alone is a frame of its own
    assert len(grouped) < len(single)


async def test_a_resume_asking_gets_its_backlog_together_then_live_events(
    live: LiveServer,
) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
    url = f"{live.ws_url}/ws/adviser"
    async with websockets.connect(visitor_url(live)) as visitor_ws:
        await recv_until(visitor_ws, "hello")
        async with websockets.connect(url, additional_headers=cookie) as ws:
            await recv_until(ws, "hello")
            await send_message(visitor_ws, "one", client_id="client-0001")
            last = (await recv_until(ws, "message.created"))["event_id"]
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
