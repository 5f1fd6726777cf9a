"""Honest sending: a reply nothing could send is refused at once, in the adviser's language; a
failed reply is sent again in one call — real server, Redis, SQLite and the local fake X API."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from app.inbox import Inbox
from app.models import Message
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_assignment import online, visitor_writes
from tests.app.test_email_channel import wait_for
from tests.app.test_privacy import mail
from tests.app.test_ws import recv_until
from tests.app.test_x_channel import configure, messages
from tests.conftest import LiveServer, login, office_login
from tests.support.fake_x import FakeX
from tests.support.sql import connect as sql_connect

MANAGER = "manager@baie-dargent.example"
EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
LONG = " ".join(["marée"] * 60)  # 359 of X's 280


def sql(live: LiveServer, statement: str, *args: object) -> None:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute(statement, args)


def tweet(thread_key: str, external_id: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.TWITTER, account="x-port-argent", external_id=external_id,
        thread_key=thread_key, author=Author(external_id="4242", handle="@ana"),
        text="@PortArgentOT le phare ?", received_at=EIGHT,
    )  # fmt: skip


async def test_a_reply_nothing_could_send_is_refused_at_once(
    live: LiveServer, services: Services
) -> None:
    inbox = Inbox(services)
    email = await inbox.ingest(mail("mail-port-argent", "m1@example.org", "Bonjour"))
    public = await inbox.ingest(tweet("conv:1801", "1801"))
    direct = await inbox.ingest(tweet("dm:4242", "dm:9001"))
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as a:

        def reply(conversation_id: int, text: str, language: str = "en", **extra: Any) -> Any:
            return a.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": text, **extra},
                headers={"accept-language": language},
            )

        # The mailbox is not configured (the demo's are inactive): nothing would send it.
        refused = reply(email.conversation_id, "Bonjour Ana")
        assert refused.status_code == 422
        assert refused.json()["code"] == "error.no_connector"
        assert refused.json()["detail"].startswith("This account's connection is not running")
        french = reply(email.conversation_id, "Bonjour Ana", "fr")
        assert french.json()["detail"].startswith("La connexion de ce compte ne fonctionne pas")
        # Switched on but without its settings, it still cannot run.
        sql(live, "update account set active = true where key = 'mail-port-argent'")
        assert reply(email.conversation_id, "Bonjour Ana").status_code == 422

        # An X public reply over 280 is refused for its length first, unless posted as a thread.
        too_long = reply(public.conversation_id, LONG)
        assert (too_long.status_code, too_long.json()["code"]) == (422, "error.tweet_too_long")
        threaded = reply(public.conversation_id, LONG, split_thread=True)
        assert threaded.json()["code"] == "error.no_connector"
        # A direct message has no 280 limit: only the connector is missing.
        assert reply(direct.conversation_id, LONG).json()["code"] == "error.no_connector"

        for conversation_id in (email.conversation_id, public.conversation_id):
            detail = a.get(f"/api/conversations/{conversation_id}").json()
            assert [m["direction"] for m in detail["messages"]] == ["in"]  # nothing stored

        # A chat needs nothing running; the X thread option is not kept on it.
        await visitor_writes(live, "Bonjour du chat")
        chat = next(
            c for c in a.get("/api/conversations").json() if c["preview"] == "Bonjour du chat"
        )
        sent = reply(chat["id"], LONG, split_thread=True)
        assert sent.status_code == 201
    async with services.db.session() as session:
        stored = (await session.exec(select(Message).where(Message.id == sent.json()["id"]))).one()
    assert stored.split_thread is False


async def test_a_failed_reply_is_sent_again(
    make_server: Any, fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_OAUTH2_USER_TOKEN", "user-token")
    seed = make_server(x_api_base_url=fake.url)
    configure(seed)
    live = make_server(x_api_base_url=fake.url)
    fake.add_mention("@PortArgentOT le phare est ouvert ce soir ?", username="ana")
    camille, lea = office_login(live, "port-argent"), office_login(live, "saint-clair")
    with (
        login(live.url, camille.email, camille.password) as a,
        login(live.url, lea.email, lea.password) as c,
    ):
        rows = wait_for(
            lambda: [r for r in a.get("/api/conversations").json() if r["channel"] == "twitter"]
        )
        conversation_id = rows[0]["id"]
        async with online(live, a) as ws:
            fake.fail(
                403,
                {"title": "Forbidden", "status": 403,
                 "detail": "You are not allowed to create a Tweet with duplicate content."},
                path="/2/tweets",
            )  # fmt: skip
            answer = a.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": "Oui, jusqu'à 22 h !"},
            )
            assert answer.status_code == 201
            message_id = answer.json()["id"]
            failed = await recv_until(ws, "message.status", timeout=15)
            assert (failed["message_id"], failed["status"]) == (message_id, "failed")
            assert fake.posted == []
            retry = f"/api/messages/{message_id}/retry"

            assert a.post(retry, headers={"x-csrf-token": "forged"}).status_code == 403
            assert c.post(retry).status_code == 404  # another office's: not even there
            assert a.post("/api/messages/987654/retry").status_code == 404
            visitor_message = next(
                m for m in messages(a, conversation_id) if m["direction"] == "in"
            )
            not_failed = a.post(
                f"/api/messages/{visitor_message['id']}/retry", headers={"accept-language": "en"}
            )
            assert not_failed.status_code == 409
            assert not_failed.json()["code"] == "error.not_failed"

            again = a.post(retry)
            assert again.status_code == 200
            assert again.json()["delivery_status"] == "pending"
            assert again.json()["delivery_error"] == ""
            assert again.json()["author_name"] == "Camille Martin"
            pending = await recv_until(ws, "message.status")
            assert (pending["message_id"], pending["status"]) == (message_id, "pending")
            done = await recv_until(ws, "message.status", timeout=15)
            assert (done["message_id"], done["status"]) == (message_id, "sent")
            assert [p["text"] for p in fake.posted] == ["Oui, jusqu'à 22 h !"]  # once
            assert a.post(retry).status_code == 409  # sent: nothing to send again

        # Failed again while the account is switched off: refused, and it stays failed.
        sql(live, "update message set delivery_status = 'FAILED' where id = ?", message_id)
        sql(live, "update account set active = false where key = 'x-port-argent'")
        refused = a.post(retry)
        assert (refused.status_code, refused.json()["code"]) == (422, "error.no_connector")
        assert (
            next(m for m in messages(a, conversation_id) if m["id"] == message_id)[
                "delivery_status"
            ]
            == "failed"
        )

    # Erased: read-only, even for a failed reply.
    sql(live, "update account set active = true where key = 'x-port-argent'")
    with login(live.url, MANAGER, live.logins[MANAGER].password) as m:
        assert m.post(f"/api/conversations/{conversation_id}/erase-visitor").status_code == 200
        sql(live, "update message set delivery_status = 'FAILED' where id = ?", message_id)
        erased = m.post(f"/api/messages/{message_id}/retry")
        assert (erased.status_code, erased.json()["code"]) == (409, "error.conversation_erased")
