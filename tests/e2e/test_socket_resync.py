"""A client too far behind to replay is told to resync: the widget and the inbox reload what they
show, in Chromium, over a real server whose resume bound is tiny."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocket, WebSocketRoute, expect

from tests.conftest import LiveServer, login, office_login
from tests.e2e.conftest import adviser_login
from tests.e2e.test_chat import open_widget, visitor_says


def frames_of(page: Page, path: str) -> list[dict[str, Any]]:
    """Every frame the page's sockets to ``path`` receive, parsed, in order (the events of
    one frame holding several, as the page asks for them, one by one)."""
    frames: list[dict[str, Any]] = []

    def received(payload: str | bytes) -> None:
        data = json.loads(payload)
        frames.extend(data if isinstance(data, list) else [data])

    def watch(ws: WebSocket) -> None:
        if path in ws.url:
            ws.on("framereceived", received)

    page.on("websocket", watch)
    return frames


def drop_then(page: Page, path: str, meanwhile: Callable[[], None]) -> list[WebSocketRoute]:
    """Routes the page's sockets to ``path`` to the server; the first reconnection runs
    ``meanwhile`` (events the page misses) before reaching the server."""
    routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        if len(routes) == 1:
            meanwhile()
        routes.append(ws)
        ws.connect_to_server()

    page.route_web_socket(re.compile(re.escape(path)), route)
    return routes


def test_the_widget_reloads_the_conversation_on_resync(
    make_server: Callable[..., LiveServer], new_page: Any
) -> None:
    live = make_server(resume_backlog_max=1)
    adviser = office_login(live, "port-argent")
    page = new_page(locale="en-GB")
    frames = frames_of(page, "/ws/visitor")

    def replies() -> None:
        with login(live.url, adviser.email, adviser.password) as client:
            conversation = client.get("/api/conversations").json()[0]["id"]
            for text in ("First answer", "Second answer", "Third answer"):
                sent = client.post(
                    f"/api/conversations/{conversation}/messages", json={"text": text}
                )
                assert sent.status_code == 201, sent.text

    routes = drop_then(page, "/ws/visitor", replies)
    widget = open_widget(page, live)
    visitor_says(widget, "Is the museum open on Monday?")
    routes[0].close(code=1006, reason="network lost")  # the widget reconnects, resuming

    messages = widget.get_by_test_id("widget-message")
    expect(messages.filter(has_text="Third answer")).to_have_count(1)
    assert any(f["type"] == "resync" for f in frames)
    for text in ("Is the museum open on Monday?", "First answer", "Second answer"):
        expect(messages.filter(has_text=text)).to_have_count(1)
    # Still live after the reload: the next reply arrives by itself.
    with login(live.url, adviser.email, adviser.password) as client:
        conversation = client.get("/api/conversations").json()[0]["id"]
        client.post(f"/api/conversations/{conversation}/messages", json={"text": "Fourth"})
    expect(messages.filter(has_text="Fourth")).to_have_count(1)


def test_the_inbox_reloads_its_list_on_resync(
    make_server: Callable[..., LiveServer], new_page: Any
) -> None:
    live = make_server(resume_backlog_max=1)
    page = new_page()
    frames = frames_of(page, "/ws/adviser")

    def visitors_write() -> None:
        from websockets.sync.client import connect

        for n in range(3):
            with connect(f"{live.ws_url}/ws/visitor?account=chat-port-argent") as ws:
                json.loads(ws.recv())
                ws.send(
                    json.dumps(
                        {
                            "type": "message",
                            "client_id": f"missed-{n:04d}",
                            "text": f"Missed question {n}",
                        }
                    )
                )
                while json.loads(ws.recv())["type"] != "ack":
                    pass

    routes = drop_then(page, "/ws/adviser", visitors_write)
    adviser_login(page, live, office_login(live, "port-argent"))
    expect(page.get_by_test_id("list-empty")).to_be_visible()
    routes[0].close(code=1006, reason="network lost")

    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(3)
    assert any(f["type"] == "resync" for f in frames)
    resync = next(f for f in frames if f["type"] == "resync")
    assert resync["last_event_id"]
    for n in range(3):
        expect(items.filter(has_text=f"Missed question {n}")).to_have_count(1)
