"""Never silent (app.offline): the "nobody online" notice and its timing, the address a visitor
leaves — over a real server, Redis and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login
from tests.support.sql import connect as sql_connect

NIGHT = datetime(2026, 7, 21, 1, 0, tzinfo=UTC)  # 03:00 in Paris: nobody on duty


def db_rows(live: LiveServer, sql: str, *args: object) -> list[tuple[Any, ...]]:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        return db.execute(sql, args).fetchall()


def activate_mailbox(live: LiveServer, key: str = "mail-port-argent") -> None:
    """A mailbox for the office (no server behind it: these tests send no mail)."""
    settings = {"address": "info@port-argent.example", "smtp_host": "127.0.0.1", "smtp_port": 9}
    db_rows(
        live,
        "update account set active = true, settings = ? where key = ?",
        json.dumps(settings),
        key,
    )


def visitor_api(live: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"authorization": f"Bearer {token}"}, timeout=10)


async def no_frame(ws: Any, wanted: str, timeout: float) -> None:
    with pytest.raises(TimeoutError):
        await recv_until(ws, wanted, timeout=timeout)


async def test_nobody_online_the_waiting_visitor_is_told_after_the_delay_once(
    make_server: Any,
) -> None:
    live = make_server(offline_notice_seconds=2)
    activate_mailbox(live)
    async with websockets.connect(visitor_url(live)) as ws:
        hello = await recv_until(ws, "hello")
        assert hello["offline"]["show"] is False  # office hours: nobody missing yet
        assert hello["offline"]["can_leave"] is True
        await send_message(ws, "Le phare est-il ouvert ?")
        started = time.monotonic()
        frame = await recv_until(ws, "offline", timeout=10)
        waited = time.monotonic() - started
        assert 1.5 <= waited <= 7, waited  # the delay (2 s) ± 5 s, never before it
        assert frame["show"] is True and frame["can_leave"] is True
        assert "Port-Argent" in frame["text"]
        await no_frame(ws, "offline", timeout=2.5)  # once per waiting period
    # A reload still shows it (the hello says it too).
    async with websockets.connect(visitor_url(live, hello["token"])) as again:
        assert (await recv_until(again, "hello"))["offline"]["show"] is True


async def test_a_visitor_answered_in_time_never_sees_it(make_server: Any) -> None:
    live = make_server(offline_notice_seconds=2)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with websockets.connect(visitor_url(live)) as ws:
            await recv_until(ws, "hello")
            await send_message(ws, "Bonjour")
            conversation = client.get("/api/conversations").json()[0]
            reply = client.post(
                f"/api/conversations/{conversation['id']}/messages", json={"text": "Bonjour !"}
            )
            assert reply.status_code == 201
            await no_frame(ws, "offline", timeout=4)


async def test_nobody_on_duty_the_visitor_is_told_at_once_in_their_language(
    make_server: Any,
) -> None:
    live = make_server(offline_notice_seconds=60, clock_start=NIGHT)
    activate_mailbox(live)
    async with websockets.connect(visitor_url(live, lang="de")) as ws:
        hello = await recv_until(ws, "hello")
        # Before any message: who answers and when; the address waits for the conversation.
        assert hello["offline"]["show"] is True
        assert hello["offline"]["has_conversation"] is False
        assert "Gerade ist niemand online" in hello["offline"]["text"]
        await send_message(ws, "Hallo, ist der Leuchtturm morgen offen?")
        frame = await recv_until(ws, "offline", timeout=5)  # not after the 60 s delay
        assert frame["show"] and frame["has_conversation"]
        assert "Gerade ist niemand online" in frame["text"]


BAD_ADDRESSES = [
    "not an address",
    "jane@",
    "@example.org",
    "jane@@example.org",
    "jane@example",
    "jane@exa mple.org",
    "jane@[127.0.0.1]",
    '"jane doe"@example.org',
    "jane@example.org\r\nBcc: x@example.org",
    "jane.@example.org",
    "a" * 65 + "@example.org",
    "jane@" + "b" * 250 + ".org",
    "jané@example.org",
]


async def test_an_address_that_is_not_one_is_refused_and_nothing_is_stored(
    live: LiveServer,
) -> None:
    activate_mailbox(live)
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        with visitor_api(live, token) as api:
            early = api.post("/api/visitor/contact?lang=fr", json={"email": "jane@example.org"})
            assert early.status_code == 409
            assert "message" in early.json()["detail"]
            await send_message(ws, "Bonjour")
            for bad in BAD_ADDRESSES:
                refused = api.post("/api/visitor/contact?lang=es", json={"email": bad})
                assert refused.status_code == 422, bad
                assert "correo" in refused.json()["detail"], bad
            too_long = api.post("/api/visitor/contact", json={"email": "x" * 400 + "@e.org"})
            assert too_long.status_code == 422
            bad_name = api.post("/api/visitor/contact", json={"name": "Jane\nBcc"})
            assert bad_name.status_code == 422
    stored = db_rows(
        live,
        "select c.reply_email, k.email, k.name from conversation c join contact k"
        " on k.id = c.contact_id where c.channel = 'webchat'",
    )
    assert stored == [("", "", "")]


async def test_an_address_left_is_kept_shown_to_the_adviser_and_taken_back(
    live: LiveServer,
) -> None:
    activate_mailbox(live)
    adviser = office_login(live, "port-argent")
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        await send_message(ws, "Bonjour")
        with visitor_api(live, token) as api:
            left = api.post(
                "/api/visitor/contact", json={"email": " Jane.Doe@Example.ORG ", "name": "Jane"}
            )
            assert left.status_code == 200, left.text
            assert left.json() == {
                "email": "J…@example.org",
                "reply_by_email": True,
                "name": "Jane",
            }
        async with websockets.connect(visitor_url(live, token)) as again:
            offline = (await recv_until(again, "hello"))["offline"]
            assert offline["email"] == "J…@example.org"
        with login(live.url, adviser.email, adviser.password) as client:
            conversation = client.get("/api/conversations").json()[0]
            detail = client.get(f"/api/conversations/{conversation['id']}").json()
            kinds = [a["kind"] for a in detail["activities"]]
            assert "reply_address" in kinds
        assert db_rows(live, "select reply_email from conversation") == [("Jane.Doe@example.org",)]
        assert db_rows(live, "select email, name from contact where channel = 'webchat'") == [
            ("Jane.Doe@example.org", "Jane")
        ]
        with visitor_api(live, token) as api:
            removed = api.delete("/api/visitor/contact/email")
            assert removed.status_code == 200
            assert removed.json()["email"] == ""
        assert db_rows(live, "select reply_email from conversation") == [("",)]
        assert db_rows(live, "select email from contact where channel = 'webchat'") == [("",)]


async def test_another_visitors_token_changes_nothing(live: LiveServer) -> None:
    activate_mailbox(live)
    async with websockets.connect(visitor_url(live)) as first:
        token = (await recv_until(first, "hello"))["token"]
        await send_message(first, "Bonjour")
        with visitor_api(live, token) as api:
            assert api.post("/api/visitor/contact", json={"email": "a@example.org"}).is_success
    async with websockets.connect(visitor_url(live)) as other:
        other_token = (await recv_until(other, "hello"))["token"]
        with visitor_api(live, other_token) as api:
            # No conversation of their own: nothing to attach to, nothing taken off the first.
            assert (
                api.post("/api/visitor/contact", json={"email": "b@example.org"}).status_code == 409
            )
            assert api.delete("/api/visitor/contact/email").status_code == 409
        with visitor_api(live, other_token + "x") as forged:
            assert forged.delete("/api/visitor/contact/email").status_code == 401
    assert db_rows(live, "select reply_email from conversation") == [("a@example.org",)]


async def test_without_a_mailbox_no_address_is_asked_and_accounts_says_so(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        hello = await recv_until(ws, "hello")
        assert hello["offline"]["can_leave"] is False
        await send_message(ws, "Bonjour")
        with visitor_api(live, hello["token"]) as api:
            kept = api.post("/api/visitor/contact", json={"email": "jane@example.org"})
            assert kept.json()["reply_by_email"] is False  # on the contact, not for replies
    assert db_rows(live, "select reply_email from conversation") == [("",)]
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        page = client.get("/accounts").text
        assert 'data-testid="mailbox-notice"' in page
        assert (
            "Port-Argent" in page.split('data-testid="mailbox-notice"', 1)[1].split("</section>")[0]
        )
    activate_mailbox(live)
    with login(live.url, manager.email, manager.password) as client:
        notice = client.get("/accounts").text.split('data-testid="mailbox-notice"', 1)
        assert len(notice) == 1 or "Port-Argent" not in notice[1].split("</section>")[0]


async def test_the_offline_sweep_tells_once_across_workers(make_server: Any) -> None:
    first = make_server(offline_notice_seconds=1)
    make_server(seed_data=False, offline_notice_seconds=1)  # a second worker, same Redis and db
    async with websockets.connect(visitor_url(first)) as ws:
        await recv_until(ws, "hello")
        await send_message(ws, "Bonjour")
        await recv_until(ws, "offline", timeout=8)
        await no_frame(ws, "offline", timeout=3)
    await asyncio.sleep(0)


async def test_a_widget_restricted_to_some_sites_still_opens_on_the_helpdesks_chat_page(
    live: LiveServer,
) -> None:
    db_rows(
        live,
        "update account set allowed_origins = 'https://hotel.example' where key = ?",
        "chat-port-argent",
    )
    own = live.settings.base_url  # where /chat/{link} pages are served
    async with websockets.connect(visitor_url(live), origin=own) as ws:  # type: ignore[arg-type]
        token = (await recv_until(ws, "hello"))["token"]
        await send_message(ws, "Bonjour")
    with visitor_api(live, token) as api:
        assert api.delete("/api/visitor/contact/email", headers={"origin": own}).status_code == 200
        other = api.delete("/api/visitor/contact/email", headers={"origin": "https://evil.example"})
        assert other.status_code == 403
    with pytest.raises(ConnectionClosed) as refused:
        async with websockets.connect(visitor_url(live), origin="https://evil.example") as ws:  # type: ignore[arg-type]
            await ws.recv()
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403
