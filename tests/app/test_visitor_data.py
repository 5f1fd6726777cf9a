"""The visitor's data in their own hands: a copy of their conversation (JSON, text) and its
erasure with their widget's token, and "do not keep this conversation after it is answered" —
over a real server, Redis and database."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_datetime
from sqlmodel import col, select
from websockets.sync.client import connect

from app import actions, privacy, visitor_data_actions
from app.inbox import Inbox
from app.models import (
    Account,
    Activity,
    AuditEntry,
    Contact,
    Conversation,
    ConversationStatus,
    Message,
    Role,
    StoredAttachment,
    User,
)
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.conftest import LiveServer, login, office_login

ACCOUNT = "chat-port-argent"


def visitor_says(live: LiveServer, text: str, account: str = ACCOUNT) -> str:
    """A new chat visitor writes ``text``; their widget's token."""
    with connect(f"{live.ws_url}/ws/visitor?account={account}&lang=en") as ws:
        token = str(json.loads(ws.recv(timeout=10))["token"])
        ws.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text}))
        while True:
            frame = json.loads(ws.recv(timeout=10))
            assert frame.get("type") != "error", frame
            if frame.get("type") == "ack":
                return token


def fresh_token(live: LiveServer) -> str:
    with connect(f"{live.ws_url}/ws/visitor?account={ACCOUNT}") as ws:
        return str(json.loads(ws.recv(timeout=10))["token"])


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def conversation_with(client: httpx.Client, text: str) -> int:
    for c in client.get("/api/conversations", params={"status": "all"}).json():
        if text in c["preview"]:
            return int(c["id"])
    raise AssertionError(f"no conversation with {text!r}")


async def audit_rows(services: Services) -> list[AuditEntry]:
    async with services.db.session() as session:
        return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all())


async def test_a_visitor_downloads_only_their_own_conversation(
    live: LiveServer, services: Services
) -> None:
    token = visitor_says(live, "Is the lighthouse open tonight?")
    other = visitor_says(live, "Another visitor's question")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cid = conversation_with(client, "lighthouse")
        assert client.post(f"/api/conversations/{cid}/messages", json={"text": "Yes, until 22:00."}).status_code == 201  # fmt: skip
        note = client.post(f"/api/conversations/{cid}/notes", json={"text": "NOTE-SECRET ask Paul"})
        assert note.status_code == 201
        me = client.get("/api/me").json()["name"]

    got = httpx.get(f"{live.url}/api/visitor/data", headers=bearer(token))
    assert got.status_code == 200
    assert got.headers["content-disposition"] == f'attachment; filename="conversation-{cid}.json"'
    data = got.json()
    assert data["conversation"]["id"] == cid
    said = [(m["from"], m["name"], m["text"]) for m in data["messages"]]
    assert said == [
        ("visitor", "", "Is the lighthouse open tonight?"),
        ("adviser", me, "Yes, until 22:00."),
    ]
    assert all(m["at"].endswith("+00:00") for m in data["messages"])  # ISO 8601, UTC
    assert "NOTE-SECRET" not in got.text and "Another visitor" not in got.text
    assert "visitor_ip" not in got.text and "127.0.0.1" not in got.text

    # Readable text in the visitor's language and the destination's time.
    text = httpx.get(
        f"{live.url}/api/visitor/data",
        params={"format": "text", "lang": "de"},
        headers=bearer(token),
    )
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "Ihr Gespräch mit" in text.text and "Europe/Paris" in text.text
    reply_at = datetime.fromisoformat(data["messages"][1]["at"])
    local = format_datetime(reply_at, "medium", tzinfo=ZoneInfo("Europe/Paris"), locale="de")
    assert f"[{local}] {me}:" in text.text and "Yes, until 22:00." in text.text
    assert "NOTE-SECRET" not in text.text and "Another visitor" not in text.text
    assert "Sie:" in text.text

    theirs = httpx.get(f"{live.url}/api/visitor/data", headers=bearer(other)).json()
    assert [m["text"] for m in theirs["messages"]] == ["Another visitor's question"]

    # Without a token, with a forged one, or before any message: nothing.
    assert httpx.get(f"{live.url}/api/visitor/data").status_code == 401
    assert httpx.get(f"{live.url}/api/visitor/data", headers=bearer(token + "x")).status_code == 401
    none = httpx.get(
        f"{live.url}/api/visitor/data", params={"lang": "fr"}, headers=bearer(fresh_token(live))
    )
    assert none.status_code == 404 and "pas encore de conversation" in none.json()["detail"]
    bad = httpx.get(f"{live.url}/api/visitor/data", params={"format": "xml"}, headers=bearer(token))
    assert bad.status_code == 422

    entries = [e for e in await audit_rows(services) if e.action == "visitor_export"]
    assert [(e.actor_id, e.conversation_id, e.detail) for e in entries] == [
        (None, cid, "json"),
        (None, cid, "text"),
        (None, theirs["conversation"]["id"], "json"),
    ]


async def test_a_visitor_erases_their_conversation_and_only_theirs(
    live: LiveServer, services: Services
) -> None:
    token = visitor_says(live, "My booking is REF-77881, name Ana Lopes")
    other = visitor_says(live, "Where can I park?")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cid = conversation_with(client, "REF-77881")
        kept = conversation_with(client, "park")
        client.post(f"/api/conversations/{cid}/messages", json={"text": "Thanks Ana, noted."})
        async with services.db.session() as session:
            first = (await session.exec(select(Message).where(Message.conversation_id == cid))).first()  # fmt: skip
            assert first is not None
            session.add(StoredAttachment(message_id=first.id, filename="passport.jpg",
                                         content_type="image/jpeg", size=3, data=b"abc"))  # fmt: skip
            await session.commit()

        # A token of another conversation erases that one only; a forged one nothing.
        assert httpx.delete(f"{live.url}/api/visitor/data", headers=bearer(other + "x")).status_code == 401  # fmt: skip
        gone = httpx.delete(f"{live.url}/api/visitor/data", headers=bearer(other))
        assert gone.status_code == 200
        mine = client.get(f"/api/conversations/{cid}").json()
        assert "REF-77881" in mine["messages"][0]["text"]

        erased = httpx.delete(f"{live.url}/api/visitor/data", headers=bearer(token))
        assert erased.status_code == 200 and erased.json()["erased"] is True
        seen = client.get(f"/api/conversations/{cid}").json()
        assert [m["text"] for m in seen["messages"]] == ["", ""]
        assert "REF-77881" not in json.dumps(seen) and "Ana" not in json.dumps(seen)
        assert [a["kind"] for a in seen["activities"]][-1] == "erased_by_visitor"
        assert seen["conversation"]["status"] == "resolved"  # the skeleton stays
        assert client.get(f"/api/conversations/{kept}").status_code == 200

    async with services.db.session() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None and conversation.created_at is not None
        files = (await session.exec(select(StoredAttachment))).all()
        assert not [f for f in files if f.filename == "passport.jpg"]
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None and contact.name == "" and contact.external_id.startswith("erased")  # fmt: skip
    # Nothing left to erase or download; the widget starts afresh.
    assert httpx.delete(f"{live.url}/api/visitor/data", headers=bearer(token)).status_code == 404
    assert httpx.get(f"{live.url}/api/visitor/data", headers=bearer(token)).status_code == 404
    erasures = [(e.actor_id, e.conversation_id) for e in await audit_rows(services) if e.action == "visitor_erase"]  # fmt: skip
    assert erasures == [(None, kept), (None, cid)]


def chat(visitor: str, text: str, at: datetime) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account=ACCOUNT, external_id=f"{visitor}-{at.timestamp()}",
        thread_key=visitor, author=Author(external_id=visitor, name="Ana"), text=text,
        received_at=at,
    )  # fmt: skip


async def test_do_not_keep_erases_a_set_time_after_resolution_not_before_nor_reopened(
    services: Services,
) -> None:
    now = services.clock.now()
    cid = (await Inbox(services).ingest(chat("v-forget", "Secret plans", now))).conversation_id
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == ACCOUNT))).one()
        boss = (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()  # fmt: skip
    answer = await visitor_data_actions.set_forget(services, account, "v-forget", True)
    assert answer == {"forget": True, "erase_at": None}  # open: nothing due yet
    hours = services.settings.forget_after_hours

    async def state() -> Conversation:
        async with services.db.session() as session:
            found = await session.get(Conversation, cid)
            assert found is not None
            return found

    await actions.set_status(services, boss, cid, ConversationStatus.RESOLVED)
    resolved_at = services.clock.now()
    due = (await state()).forget_at
    assert due is not None and abs((due - resolved_at) - timedelta(hours=hours)).total_seconds() < 5
    assert await privacy.sweep(services, due - timedelta(minutes=1)) == 0
    assert (await state()).thread_key == "v-forget"

    await actions.set_status(services, boss, cid, ConversationStatus.OPEN)  # reopened: kept
    assert (await state()).forget_at is None
    assert await privacy.sweep(services, due + timedelta(hours=1)) == 0

    await actions.set_status(services, boss, cid, ConversationStatus.RESOLVED)
    due = (await state()).forget_at
    assert due is not None
    assert await privacy.sweep(services, due + timedelta(seconds=1)) == 1
    async with services.db.session() as session:
        texts = (await session.exec(select(Message.text).where(Message.conversation_id == cid))).all()  # fmt: skip
        kinds = (await session.exec(select(Activity.kind).where(Activity.conversation_id == cid).order_by(col(Activity.id)))).all()  # fmt: skip
    assert texts == [""]
    assert kinds[0] == "forget_asked" and kinds[-1] == "erased_forgotten"
    assert (await state()).status == ConversationStatus.RESOLVED  # the skeleton stays


async def test_do_not_keep_asked_after_resolution_is_due_from_then_and_can_be_undone(
    services: Services,
) -> None:
    now = services.clock.now()
    cid = (await Inbox(services).ingest(chat("v-late", "Bonjour", now))).conversation_id
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == ACCOUNT))).one()
        boss = (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()  # fmt: skip
    await actions.set_status(services, boss, cid, ConversationStatus.RESOLVED)
    on = await visitor_data_actions.set_forget(services, account, "v-late", True)
    assert on["erase_at"] is not None
    again = await visitor_data_actions.set_forget(services, account, "v-late", True)
    assert again == on  # the same answer, no second line
    off = await visitor_data_actions.set_forget(services, account, "v-late", False)
    assert off == {"forget": False, "erase_at": None}
    assert await privacy.sweep(services, now + timedelta(days=2)) == 0
    async with services.db.session() as session:
        kinds = (await session.exec(select(Activity.kind).where(Activity.conversation_id == cid))).all()  # fmt: skip
    assert kinds.count("forget_asked") == 1 and kinds.count("forget_cancelled") == 1


def test_do_not_keep_over_http_refuses_what_is_not_a_boolean(live: LiveServer) -> None:
    token = visitor_says(live, "Hello")
    url = f"{live.url}/api/visitor/data/forget"
    for body in ({"forget": "yes"}, {"forget": 1}, {}, {"forget": True, "id": 3}):
        assert httpx.put(url, json=body, headers=bearer(token)).status_code == 422, body
    assert httpx.put(url, json={"forget": True}).status_code == 401
    done = httpx.put(url, json={"forget": True}, headers=bearer(token))
    assert done.status_code == 200 and done.json()["forget"] is True
    with connect(f"{live.ws_url}/ws/visitor?account={ACCOUNT}&token={token}") as ws:
        hello = json.loads(ws.recv(timeout=10))
    assert hello["data"]["forget"] is True and hello["data"]["exists"] is True
    assert hello["privacy_url"].startswith(f"{live.settings.base_url}/privacy/baie-dargent")


async def test_the_visitor_writing_again_keeps_a_do_not_keep_conversation(
    services: Services,
) -> None:
    now = services.clock.now()
    inbox = Inbox(services)
    cid = (await inbox.ingest(chat("v-back", "First question", now))).conversation_id
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == ACCOUNT))).one()
        boss = (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()
    await visitor_data_actions.set_forget(services, account, "v-back", True)
    await actions.set_status(services, boss, cid, ConversationStatus.RESOLVED)
    await inbox.ingest(chat("v-back", "One more thing", now + timedelta(minutes=5)))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        assert conversation.status == ConversationStatus.OPEN and conversation.forget_at is None
        assert conversation.forget_after_resolved  # still asked: due again once resolved
    assert await privacy.sweep(services, now + timedelta(days=3)) == 0
