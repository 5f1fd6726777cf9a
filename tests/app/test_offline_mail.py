"""A chat reply e-mailed to a visitor who left an address and has gone (app.offline_mail): real
SMTP (aiosmtpd) out, real Dovecot in for their answer, through a live server."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import websockets

from app.security import VisitorTokens
from tests.app.conftest import Collector
from tests.app.test_email_channel import append, mailbox_server, wait_for
from tests.app.test_offline import db_rows, visitor_api
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login
from tests.support.dovecot import DovecotServer, running_dovecot


@pytest.fixture
def dovecot() -> Any:
    with running_dovecot(tls=True) as server:
        yield server


def parse(raw: bytes) -> EmailMessage:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


async def gone_visitor(live: LiveServer, address: str, lang: str = "de") -> str:
    """A visitor who wrote, left ``address`` and closed the tab; their token."""
    async with websockets.connect(visitor_url(live, lang=lang)) as ws:
        token = str((await recv_until(ws, "hello"))["token"])
        await send_message(ws, "Ist der Leuchtturm morgen offen?")
        with visitor_api(live, token) as api:
            assert api.post("/api/visitor/contact", json={"email": address}).status_code == 200
    return token


def reply(client: httpx.Client, conversation_id: int, text: str) -> int:
    response = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": text})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def status_of(client: httpx.Client, conversation_id: int, message_id: int) -> dict[str, Any]:
    messages = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
    return next(m for m in messages if m["id"] == message_id)


async def test_a_reply_to_a_gone_visitor_is_mailed_threaded_and_their_answer_joins_the_chat(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    token = await gone_visitor(live, "jane.doe@example.org")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        chat = next(r for r in client.get("/api/conversations").json() if r["channel"] == "webchat")
        first = reply(client, chat["id"], "Ja, von 10 bis 18 Uhr.")
        sent = wait_for(lambda: collector.messages, timeout=15)
        assert wait_for(lambda: status_of(client, chat["id"], first)["delivery_status"] == "sent")
        mail = parse(sent[0])
        assert "info@port-argent.example" in str(mail["From"])
        assert str(mail["To"]).endswith("<jane.doe@example.org>") or str(mail["To"]) == (
            "jane.doe@example.org"
        )
        assert "Ihre Nachricht an" in str(mail["Subject"])  # the visitor's language
        assert mail["In-Reply-To"] is None  # the first of the thread
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Ja, von 10 bis 18 Uhr." in text
        assert "Sie erhalten diese E-Mail" in text
        link = re.search(r"https?://\S+/chat/(\S+)", text)
        assert link is not None
        second = reply(client, chat["id"], "Und der Eintritt ist frei.")
        wait_for(lambda: len(collector.messages) >= 2, timeout=15)
        mail2 = parse(collector.messages[1])
        assert str(mail2["In-Reply-To"]).strip() == str(mail["Message-ID"]).strip()
        assert str(mail["Message-ID"]).strip() in str(mail2["References"])
        assert str(mail2["Message-ID"]) != str(mail["Message-ID"])
        assert wait_for(lambda: status_of(client, chat["id"], second)["delivery_status"] == "sent")

    # The visitor answers the second mail from their mail program: it joins the chat.
    answer = (
        f"From: Jane <jane.doe@example.org>\r\nTo: info@port-argent.example\r\n"
        f"Subject: Re: {mail2['Subject']}\r\nMessage-ID: <jane-answer-1@example.org>\r\n"
        f"In-Reply-To: {mail2['Message-ID']}\r\n"
        f"References: {mail['Message-ID']} {mail2['Message-ID']}\r\n\r\nDanke schön!\r\n"
    ).encode()
    append(dovecot, answer)
    # A mail naming no Message-ID we sent, even with the chat's token in its subject, does not.
    stranger = (
        f"From: mallory@example.net\r\nTo: info@port-argent.example\r\n"
        f"Subject: Re: hello [#C{chat['id']}]\r\nMessage-ID: <mallory-1@example.net>\r\n"
        f"In-Reply-To: <made-up@example.net>\r\nReferences: <made-up@example.net>\r\n\r\n"
        f"Let me in\r\n"
    ).encode()
    append(dovecot, stranger)
    with login(live.url, adviser.email, adviser.password) as client:
        wait_for(
            lambda: [
                m for m in client.get(f"/api/conversations/{chat['id']}").json()["messages"]
                if "Danke schön" in m["text"]
            ],
            timeout=20,
        )  # fmt: skip
        emails = wait_for(
            lambda: [r for r in client.get("/api/conversations").json() if r["channel"] == "email"],
            timeout=20,
        )
        assert len(emails) == 1  # the stranger's, apart
        chat_texts = [
            m["text"] for m in client.get(f"/api/conversations/{chat['id']}").json()["messages"]
        ]
        assert not any("Let me in" in t for t in chat_texts)
        # The next reply refers to the visitor's answer too.
        reply(client, chat["id"], "Gern geschehen!")
        wait_for(lambda: len(collector.messages) >= 3, timeout=15)
        mail3 = parse(collector.messages[2])
        assert str(mail3["In-Reply-To"]).strip() == "<jane-answer-1@example.org>"

    # The link reopens the widget in this conversation, as this visitor.
    page = httpx.get(f"{live.url}/chat/{link.group(1)}", timeout=10)
    assert page.status_code == 200
    assert 'data-account="chat-port-argent"' in page.text
    assert 'data-lang="de"' in page.text
    restore = httpx.get(f"{live.url}/chat/{link.group(1)}/restore.js", timeout=10)
    restored = re.search(r'\\"token\\": \\"([^\\]+)\\"', restore.text)
    assert restored is not None, restore.text
    tokens = VisitorTokens(live.settings.secret_key.get_secret_value(), 3600)
    assert tokens.read(restored.group(1)).visitor_id == tokens.read(token).visitor_id
    forged = httpx.get(f"{live.url}/chat/{link.group(1)[:-2]}xx", timeout=10)
    assert forged.status_code == 404 and "data-account" not in forged.text
    assert httpx.get(f"{live.url}/chat/{link.group(1)[:-2]}xx/restore.js").status_code == 404


async def test_a_visitor_still_here_gets_no_mail(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    token = await gone_visitor(live, "jane@example.org", lang="fr")
    adviser = office_login(live, "port-argent")
    async with websockets.connect(visitor_url(live, token)) as ws:  # back in the chat
        await recv_until(ws, "hello")
        with login(live.url, adviser.email, adviser.password) as client:
            chat = client.get("/api/conversations").json()[0]
            sent = reply(client, chat["id"], "Bonjour, oui.")
            assert wait_for(
                lambda: status_of(client, chat["id"], sent)["delivery_status"] == "sent"
            )
            message = await recv_until(ws, "message")
            assert message["message"]["text"] == "Bonjour, oui."
    time.sleep(1)
    assert collector.messages == []


async def test_without_a_mailbox_any_more_the_reply_says_why_it_was_not_mailed(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    await gone_visitor(live, "jane@example.org", lang="fr")
    db_rows(live, "update account set active = false where channel = 'email'")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        chat = client.get("/api/conversations").json()[0]
        sent = reply(client, chat["id"], "Bonjour, oui.")
        failed = wait_for(
            lambda: (m := status_of(client, chat["id"], sent))["delivery_status"] == "failed" and m
        )
        assert failed["delivery_code"] == "offline.no_mailbox"
    assert collector.messages == []


async def test_an_advisers_file_goes_with_the_mail(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from PIL import Image

    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    await gone_visitor(live, "jane@example.org", lang="fr")
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        chat = client.get("/api/conversations").json()[0]
        sent = client.post(
            f"/api/conversations/{chat['id']}/files",
            files={"file": ("plan.png", buffer.getvalue(), "image/png")},
            data={"text": "Voici le plan."},
        )
        assert sent.status_code == 201, sent.text
    mail = parse(wait_for(lambda: collector.messages, timeout=15)[0])
    files = list(mail.iter_attachments())
    assert [f.get_filename() for f in files] == ["plan.png"]
    assert files[0].get_content() == buffer.getvalue()
    assert "Voici le plan." in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
