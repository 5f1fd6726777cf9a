"""An adviser sends a file: to a chat visitor (who downloads it with their token and only
theirs), by e-mail as a MIME attachment (real SMTP through aiosmtpd, real Dovecot in), never
on X; the same checks as a visitor's file, CSRF and per-office rights."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select

from app.models import StoredAttachment
from app.services import Services
from tests.app import files_support as crafted
from tests.app.conftest import Collector
from tests.app.test_email_channel import append, mailbox_server, wait_for
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login
from tests.support.dovecot import DovecotServer, running_dovecot


def send_file(
    client: httpx.Client, conversation_id: int, name: str, data: bytes, text: str = ""
) -> httpx.Response:
    return client.post(
        f"/api/conversations/{conversation_id}/files",
        files={"file": (name, data, "application/pdf")},
        data={"text": text} if text else {},
    )


async def chat_visitor(live: LiveServer) -> tuple[str, int]:
    """A visitor who wrote in the chat: their token and their conversation's id."""
    async with websockets.connect(visitor_url(live)) as ws:
        token = str((await recv_until(ws, "hello"))["token"])
        await send_message(ws, "Avez-vous un plan des pistes cyclables ?")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
    return token, next(r["id"] for r in rows if r["channel"] == "webchat")


async def test_an_adviser_sends_a_pdf_to_the_chat_visitor(
    live: LiveServer, services: Services
) -> None:
    token, conversation_id = await chat_visitor(live)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        client.headers["accept-language"] = "en"
        refused = send_file(client, conversation_id, "plan.pdf", crafted.exe())
        assert refused.status_code == 415 and "Only photos" in refused.json()["detail"]
        no_csrf = client.post(
            f"/api/conversations/{conversation_id}/files",
            files={"file": ("plan.pdf", crafted.pdf(), "application/pdf")},
            headers={"x-csrf-token": ""},
        )
        assert no_csrf.status_code == 403
        async with services.db.session() as session:
            assert (await session.exec(select(StoredAttachment))).all() == []
        sent = send_file(client, conversation_id, "plan vélo.pdf", crafted.pdf(), "Voici le plan")
        assert sent.status_code == 201, sent.text
        message = sent.json()
        assert message["text"] == "Voici le plan" and message["delivery_status"] == "sent"
        (file,) = message["attachments"]
        assert file["filename"] == "plan vélo.pdf" and file["content_type"] == "application/pdf"
        only_file = send_file(client, conversation_id, "horaires.png", crafted.png())
        assert only_file.status_code == 201 and only_file.json()["text"] == ""
        listed = client.get("/api/conversations").json()
        assert next(r for r in listed if r["id"] == conversation_id)["preview"] == "horaires.png"
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as client:
        assert send_file(client, conversation_id, "x.pdf", crafted.pdf()).status_code == 404

    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live.url, headers=headers) as visitor:
        download = visitor.get(f"/api/visitor/files/{file['id']}")
        assert download.status_code == 200 and download.content == crafted.pdf()
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"].startswith("attachment;")
        assert "plan%20v%C3%A9lo.pdf" in download.headers["content-disposition"]
    # The widget lists it in the message frame: resumed from the start, as on a reload.
    async with websockets.connect(visitor_url(live, token)) as ws:
        hello = await recv_until(ws, "hello")
    assert hello["files"] == {"max_bytes": 10 * 1024 * 1024, "max": "10 MB"}
    files = [a for m in hello["messages"] for a in m.get("attachments", [])]
    assert {"id": file["id"], "filename": "plan vélo.pdf", "content_type": "application/pdf",
            "size": len(crafted.pdf()), "image": False} in files  # fmt: skip
    assert any(a["image"] and a["filename"] == "horaires.png" for a in files)
    stranger, _ = live.services().visitor_tokens.issue("chat-port-argent")  # type: ignore[attr-defined]
    with httpx.Client(base_url=live.url, headers={"authorization": f"Bearer {stranger}"}) as c:
        assert c.get(f"/api/visitor/files/{file['id']}").status_code == 404


async def test_files_are_not_sent_on_x(live: LiveServer, services: Services) -> None:
    from datetime import UTC, datetime

    from app.inbox import Inbox
    from connectors.base import Author, Channel, InboundMessage

    result = await Inbox(services).ingest(
        InboundMessage(
            channel=Channel.TWITTER, account="x-port-argent", external_id="t1", thread_key="t1",
            author=Author(external_id="42", handle="ana"), text="@PortArgentOT un plan ?",
            received_at=datetime(2026, 7, 21, 8, 0, tzinfo=UTC),
        )
    )  # fmt: skip
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        client.headers["accept-language"] = "fr"
        refused = send_file(client, result.conversation_id, "plan.pdf", crafted.pdf())
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("Les fichiers ne peuvent pas être envoyés")


@pytest.fixture
def dovecot() -> Any:
    with running_dovecot(tls=True) as server:
        yield server


def test_an_adviser_file_goes_by_mail_as_an_attachment(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    append(
        dovecot,
        b"From: Ana <ana@example.org>\r\nTo: info@port-argent.example\r\n"
        b"Subject: Horaires du bus\r\nMessage-ID: <bus-1@example.org>\r\n"
        b"Date: Tue, 21 Jul 2026 09:00:00 +0200\r\n\r\nAvez-vous les horaires ?\r\n",
    )
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [r for r in client.get("/api/conversations").json() if r["channel"] == "email"]
        )
        sent = send_file(client, rows[0]["id"], "horaires.pdf", crafted.pdf(), "Les voici.")
        assert sent.status_code == 201, sent.text
        raw = wait_for(lambda: collector.messages, timeout=20)[0]
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(("plain",))
    assert body is not None and "Les voici." in body.get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "horaires.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == crafted.pdf()
