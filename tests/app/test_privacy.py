"""Visitors' data: a copy and erasure on request (managers), erasure after the retention period.
Response times survive erasure; nothing a visitor wrote does, in SQL or in Redis."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from app import actions, channels, keys, privacy
from app.embedded_redis import free_port
from app.inbox import Inbox
from app.models import (
    Account,
    AuthorKind,
    Contact,
    ContactEvent,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    Office,
    Quarantine,
    ResponseTurn,
    Role,
    RoutingDecision,
    ThreadRef,
    User,
)
from app.security import hash_password
from app.services import Services
from connectors.base import Attachment, Author, Channel, InboundMessage
from tests.conftest import LiveServer, login, office_login

EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)  # 10:00 in Paris: every office is open
DAY = "preset=custom&first=2026-07-21&last=2026-07-21"


def mail(
    account: str, message_id: str, text: str, at: datetime = EIGHT, **extra: Any
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL, account=account, external_id=message_id, thread_key=message_id,
        author=Author(external_id="ana@example.org", name="Ana Lopes", handle="ana@example.org"),
        text=text, received_at=at, **extra,
    )  # fmt: skip


async def add_office_manager(services: Services, slug: str, email: str) -> None:
    async with services.db.session() as session:
        office = (await session.exec(select(Office).where(Office.slug == slug))).one()
        session.add(
            User(destination_id=1, office_id=office.id, email=email, name="Responsable",
                 password_hash=hash_password("manager-password-1"), role=Role.OFFICE_MANAGER)
        )  # fmt: skip
        await session.commit()


async def user(services: Services, email: str) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.email == email))).one()


async def mailbox_running(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Port-Argent's mailbox configured and its receive loop running (the live server's), so a
    reply to it is accepted; its mail servers are the outside world, never reached here."""
    settings = {"address": "info@port-argent.example", "imap_host": "127.0.0.1",
                "imap_port": free_port(), "imap_user": "info", "smtp_host": "127.0.0.1",
                "smtp_port": free_port()}  # fmt: skip
    monkeypatch.setenv("CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD", "imap-password")
    async with services.db.session() as session:
        account = (
            await session.exec(select(Account).where(Account.key == "mail-port-argent"))
        ).one()
        account.active, account.settings = True, json.dumps(settings)
        session.add(account)
        await session.commit()
    for _ in range(100):  # the receive loops publish their status every few seconds
        if await channels.read_status(services, account) is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the mailbox's receive loop never started")


async def stream_text(services: Services) -> bytes:
    entries: Any = await services.redis.xrange(keys.events(1))
    return b" ".join(value for _, fields in entries for value in fields.values())


async def test_a_manager_exports_then_erases_a_visitor(
    live: LiveServer, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox(services)
    first = await inbox.ingest(
        mail("mail-port-argent", "m1@example.org", "Voici mon billet, Ana Lopes, 06 12 34 56 78.",
             attachments=(Attachment("billet.pdf", "application/pdf", 5, b"%PDF-"),))
    )  # fmt: skip
    second = await inbox.ingest(mail("mail-port-argent", "m2@example.org", "Et le parking ?"))
    elsewhere = await inbox.ingest(
        mail("mail-saint-clair", "m3@example.org", "Bonjour Saint-Clair")
    )
    services.clock.set(EIGHT + timedelta(minutes=5), frozen=True)
    camille = await user(services, "camille@port-argent.example")
    await mailbox_running(services, monkeypatch)
    await actions.reply(services, camille, first.conversation_id, "Bien reçu, Ana.")
    await add_office_manager(services, "port-argent", "resp@port-argent.example")
    await add_office_manager(services, "saint-clair", "resp@saint-clair.example")
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        figures_before = client.get(f"/api/metrics?{DAY}").json()
    assert b"06 12 34 56 78" in await stream_text(services)

    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        client.headers["accept-language"] = "en"
        refused = client.get(f"/api/conversations/{first.conversation_id}/visitor-data")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "Only a manager can export or erase a visitor's data."
        assert (
            client.post(f"/api/conversations/{first.conversation_id}/erase-visitor").status_code
            == 403
        )
    with login(live.url, "resp@saint-clair.example", "manager-password-1") as client:
        assert (
            client.get(f"/api/conversations/{first.conversation_id}/visitor-data").status_code
            == 404
        )
        assert (
            client.post(f"/api/conversations/{first.conversation_id}/erase-visitor").status_code
            == 404
        )

    with login(live.url, "resp@port-argent.example", "manager-password-1") as client:
        copy = client.get(f"/api/conversations/{first.conversation_id}/visitor-data")
        assert copy.status_code == 200
        assert copy.headers["content-disposition"].startswith("attachment;")
        data = copy.json()
        assert (
            data["visitor"]["address"] == "ana@example.org"
            and data["visitor"]["name"] == "Ana Lopes"
        )
        # Their own office's conversations only: not Saint-Clair's.
        assert [c["id"] for c in data["conversations"]] == [
            first.conversation_id,
            second.conversation_id,
        ]
        texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
        assert texts == [
            "Voici mon billet, Ana Lopes, 06 12 34 56 78.",
            "Bien reçu, Ana.",
            "Et le parking ?",
        ]
        assert data["conversations"][0]["messages"][0]["attachments"][0]["filename"] == "billet.pdf"
        file_id = client.get(f"/api/conversations/{first.conversation_id}").json()["messages"][0][
            "attachments"
        ][0]["id"]

        no_csrf = client.post(
            f"/api/conversations/{first.conversation_id}/erase-visitor",
            headers={"x-csrf-token": "forged"},
        )
        assert no_csrf.status_code == 403
        erased = client.post(f"/api/conversations/{first.conversation_id}/erase-visitor")
        assert erased.status_code == 200
        assert erased.json() == {"conversations": 2, "visitor_erased": False}  # Saint-Clair's stays
        detail = client.get(f"/api/conversations/{first.conversation_id}").json()
        assert [m["text"] for m in detail["messages"]] == ["", ""]
        assert detail["messages"][0]["attachments"] == []
        assert client.get(f"/api/attachments/{file_id}").status_code == 404

    async with services.db.session() as session:
        kept = (
            await session.exec(
                select(Message).where(Message.conversation_id == elsewhere.conversation_id)
            )
        ).one()
        assert kept.text == "Bonjour Saint-Clair"
        contact = (await session.exec(select(Contact))).one()
        assert contact.name == "Ana Lopes"  # still writing to Saint-Clair

    with login(live.url, manager.email, manager.password) as client:
        everything = client.post(f"/api/conversations/{elsewhere.conversation_id}/erase-visitor")
        assert everything.json() == {"conversations": 1, "visitor_erased": True}
        figures_after = client.get(f"/api/metrics?{DAY}").json()
    assert figures_after == figures_before  # response times survive erasure

    async with services.db.session() as session:
        messages = (await session.exec(select(Message))).all()
        assert {m.text for m in messages} == {""} and all(m.html is None for m in messages)
        assert all((m.external_id or "erased:").startswith("erased:") for m in messages)
        assert (await session.exec(select(ThreadRef))).all() == []
        assert {d.detail for d in (await session.exec(select(RoutingDecision))).all()} <= {""}
        conversations = (await session.exec(select(Conversation))).all()
        assert {(c.subject, c.preview) for c in conversations} == {("", "")}
        contact = (await session.exec(select(Contact))).one()
        assert (contact.name, contact.handle) == ("", "") and contact.external_id.startswith(
            "erased:"
        )
        turns = (await session.exec(select(ResponseTurn).order_by(col(ResponseTurn.id)))).all()
        assert [t.wall_seconds for t in turns] == [300.0, None, None]
    events = await stream_text(services)
    assert b"06 12 34 56 78" not in events and b"Ana Lopes" not in events

    # The mailbox read again (a new connector, a UIDVALIDITY change): nothing comes back.
    again = await inbox.ingest(mail("mail-port-argent", "m1@example.org", "Voici mon billet…"))
    assert again.created is False
    async with services.db.session() as session:
        assert "Voici" not in {m.text for m in (await session.exec(select(Message))).all()}
    # A new mail from the same address is a new visitor with a new conversation.
    new = await inbox.ingest(mail("mail-port-argent", "m4@example.org", "Re-bonjour"))
    assert new.created and new.conversation_id not in {
        first.conversation_id,
        second.conversation_id,
    }


async def test_the_retention_period_erases_what_ran_out(services: Services) -> None:
    inbox = Inbox(services)
    now = EIGHT
    # Each arrives in its own time (an arrival counts only within a few days before now).
    services.clock.set(now - timedelta(days=400), frozen=True)
    old = await inbox.ingest(
        mail("mail-port-argent", "old@example.org", "Vieux message", now - timedelta(days=400))
    )
    services.clock.set(now, frozen=True)
    recent = await inbox.ingest(
        mail("mail-port-argent", "new@example.org", "Message récent", now - timedelta(days=3))
    )
    async with services.db.session() as session:
        session.add(
            Quarantine(
                account_key="mail-port-argent", reason="x", raw=b"old", at=now - timedelta(days=366)
            )
        )
        session.add(
            Quarantine(
                account_key="mail-port-argent", reason="x", raw=b"new", at=now - timedelta(days=1)
            )
        )
        await session.commit()
    # A reply queued back then and never delivered (its channel went down) is not sent once
    # erased.
    camille = await user(services, "camille@port-argent.example")
    async with services.db.session() as session:
        back_then = await session.get(Conversation, old.conversation_id)
        assert back_then is not None
        pending = Message(
            conversation_id=old.conversation_id, account_id=back_then.account_id,
            direction=Direction.OUT,
            author_kind=AuthorKind.ADVISER, author_user_id=camille.id, text="Réponse tardive",
            created_at=now - timedelta(days=399), delivery_status=DeliveryStatus.PENDING,
        )  # fmt: skip
        session.add(pending)
        await session.commit()
    assert await privacy.sweep(services, now) == 1
    assert await privacy.sweep(services, now) == 0  # done once
    async with services.db.session() as session:
        messages = (await session.exec(select(Message))).all()
        texts = {m.conversation_id: m.text for m in messages}
        statuses = {m.id: m.delivery_status for m in messages}
        quarantined = [q.raw for q in (await session.exec(select(Quarantine))).all()]
        contact = (await session.exec(select(Contact))).one()
    assert texts == {old.conversation_id: "", recent.conversation_id: "Message récent"}
    assert statuses[pending.id] == "failed"
    assert quarantined == [b"new"]
    events = await stream_text(services)
    assert b"Vieux message" not in events and "Message récent".encode() in events
    assert contact.name == "Ana Lopes"  # still in a conversation within the period


async def test_an_erased_conversation_is_read_only(live: LiveServer, services: Services) -> None:
    done = await Inbox(services).ingest(mail("mail-port-argent", "m1@example.org", "Bonjour"))
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        client.headers["accept-language"] = "en"
        assert (
            client.post(f"/api/conversations/{done.conversation_id}/erase-visitor").status_code
            == 200
        )
        view = client.get(f"/api/conversations/{done.conversation_id}").json()["conversation"]
        assert (
            view["erased"] is True and view["contact_name"] == "" and view["status"] == "resolved"
        )
        base = f"/api/conversations/{done.conversation_id}"
        for path, body in (
            ("/messages", {"text": "Encore là ?"}),
            ("/status", {"status": "open"}),
            ("/take", {}),
            ("/transfer", {"office_id": 2}),
        ):
            refused = client.post(base + path, json=body)
            assert refused.status_code == 409, path
            assert "erased" in refused.json()["detail"]
        again = client.post(f"{base}/erase-visitor")
        assert again.json() == {"conversations": 0, "visitor_erased": True}


async def test_export_and_erasure_cover_the_whole_merged_profile(
    live: LiveServer, services: Services
) -> None:
    """One visitor, one profile: the copy and the erasure take every identity merged into it
    (their corrections included), as far as the manager may see."""
    inbox = Inbox(services)
    by_mail = await inbox.ingest(mail("mail-port-argent", "p1@example.org", "Le phare ?"))
    chat = await inbox.ingest(
        InboundMessage(
            channel=Channel.WEBCHAT, account="chat-port-argent", external_id="v-ana:1",
            thread_key="v-ana", author=Author(external_id="v-ana"),
            text="C'est encore moi, ana@example.org", received_at=EIGHT,
        )
    )  # fmt: skip
    async with services.db.session() as session:
        mail_contact = (await session.get(Conversation, by_mail.conversation_id)).contact_id  # type: ignore[union-attr]
        chat_contact = (await session.get(Conversation, chat.conversation_id)).contact_id  # type: ignore[union-attr]
    await add_office_manager(services, "saint-clair", "resp@saint-clair.example")
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        merged = client.post(f"/api/contacts/{mail_contact}/merge", json={"other_id": chat_contact})
        assert merged.status_code == 200, merged.text
        fixed = client.patch(f"/api/contacts/{chat_contact}", json={"name": "Ana Lopes-Silva"})
        assert fixed.status_code == 200, fixed.text
        data = client.get(f"/api/conversations/{chat.conversation_id}/visitor-data").json()
        assert [c["id"] for c in data["conversations"]] == [
            by_mail.conversation_id,
            chat.conversation_id,
        ]
        assert {i["channel"] for i in data["identities"]} == {"email", "webchat"}
        assert [(c["kind"], c["new_value"]) for c in data["corrections"]] == [
            ("merge", ""),
            ("correct", "Ana Lopes-Silva"),
        ]
    with login(live.url, "resp@saint-clair.example", "manager-password-1") as client:
        assert (
            client.get(f"/api/conversations/{chat.conversation_id}/visitor-data").status_code == 404
        )
    with login(live.url, manager.email, manager.password) as client:
        erased = client.post(f"/api/conversations/{chat.conversation_id}/erase-visitor")
        assert erased.json() == {"conversations": 2, "visitor_erased": True}
    async with services.db.session() as session:
        contacts = (await session.exec(select(Contact))).all()
        assert all(c.external_id.startswith("erased:") for c in contacts)
        assert {(c.name, c.email, c.handle) for c in contacts} == {("", "", "")}
        events = (await session.exec(select(ContactEvent))).all()
        assert len(events) == 2 and {(e.old_value, e.new_value) for e in events} == {("", "")}
        assert {m.text for m in (await session.exec(select(Message))).all()} == {""}
    assert b"Ana Lopes" not in await stream_text(services)
