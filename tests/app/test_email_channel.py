"""A mailbox in the live inbox: real Dovecot in (over TLS, its self-signed certificate trusted
through the account's settings), real SMTP server (aiosmtpd) out, through the app."""

from __future__ import annotations

import contextlib
import imaplib
import json
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest

from tests.app.conftest import Collector
from tests.conftest import SHARED, LiveServer, login, office_login
from tests.support.dovecot import DovecotServer, running_dovecot
from tests.support.sql import connect as sql_connect

CORPUS = SHARED / "corpus" / "email"


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot(tls=True) as server:
        yield server


def mailbox_server(
    make_server: Any, dovecot: DovecotServer, smtp_port: int, monkeypatch: pytest.MonkeyPatch
) -> LiveServer:
    """A live server whose Port-Argent mailbox reads ``dovecot`` and sends through
    ``smtp_port``: a first server seeds the demo (it has no mailbox yet), the second runs it."""
    monkeypatch.setenv("CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD", dovecot.password)
    configure(make_server(seed_data=True), dovecot, smtp_port)
    live: LiveServer = make_server()
    return live


def append(server: DovecotServer, raw: bytes) -> None:
    client = imaplib.IMAP4(server.host, server.port)
    client.login(server.user, server.password)
    client.append("INBOX", None, None, raw)
    client.logout()


def configure(live: LiveServer, server: DovecotServer, smtp_port: int) -> None:
    settings = {
        "address": "info@port-argent.example", "display_name": "Office de Tourisme de Port-Argent",
        "imap_host": server.host, "imap_port": server.tls_port, "imap_security": "tls",
        "tls_ca_file": str(server.certificate.cert), "imap_user": server.user,
        "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "plain",
        "catchup_interval": 2, "timeout": 10,
    }  # fmt: skip
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute(
            "update account set active = true, settings = ? where key = 'mail-port-argent'",
            (json.dumps(settings),),
        )
        # The mails carry today's dates: without a rota, the mailbox's own office answers them.
        db.execute("update destination set rota_toml = ''")


def wait_for(predicate: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_mail_in_reply_out_in_the_same_thread(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    raw = (CORPUS / "talon-replies" / "gmail.eml").read_bytes()
    original = message_from_bytes(raw, policy=policy.default)
    started = time.monotonic()
    append(dovecot, raw)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [r for r in client.get("/api/conversations").json() if r["channel"] == "email"]
        )
        arrival = time.monotonic() - started
        assert arrival < 10, f"the mail took {arrival:.1f} s to reach the inbox"
        conversation = rows[0]
        assert conversation["account_name"] == "E-mail de Port-Argent"
        detail = client.get(f"/api/conversations/{conversation['id']}").json()
        assert detail["messages"][0]["direction"] == "in"
        reply = client.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"text": "Bonjour, voici les horaires du phare."},
        )
        assert reply.status_code == 201
        sent = wait_for(lambda: collector.messages)
        status = wait_for(
            lambda: [
                m for m in client.get(f"/api/conversations/{conversation['id']}").json()["messages"]
                if m["direction"] == "out" and m["delivery_status"] == "sent"
            ]
        )  # fmt: skip
        assert status
    mail = message_from_bytes(sent[0], policy=policy.default)
    original_id = str(original["Message-ID"]).strip()
    assert str(mail["In-Reply-To"]).strip() == original_id
    assert original_id in str(mail["References"])
    assert str(mail["Subject"]).lower().startswith("re:")
    assert "info@port-argent.example" in str(mail["From"])
    assert "Bonjour, voici les horaires du phare." in mail.get_body(("plain",)).get_content()
    # The visitor answers the reply: the mail joins the same conversation.
    answer = (
        f"From: {original['From']}\r\nTo: info@port-argent.example\r\n"
        f"Subject: Re: {mail['Subject']}\r\nMessage-ID: <answer-1@example.org>\r\n"
        f"In-Reply-To: {mail['Message-ID']}\r\nReferences: {mail['Message-ID']}\r\n\r\nMerci !\r\n"
    ).encode()
    append(dovecot, answer)
    with login(live.url, adviser.email, adviser.password) as client:
        texts = wait_for(
            lambda: [
                m["text"] for m in client.get(f"/api/conversations/{conversation['id']}").json()["messages"]
                if "Merci" in m["text"]
            ]
        )  # fmt: skip
        assert texts
        assert (
            len([r for r in client.get("/api/conversations").json() if r["channel"] == "email"])
            == 1
        )


def test_a_web_form_mail_is_answered_to_the_visitor_in_its_reply_to(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    append(
        dovecot,
        b"From: Site de Port-Argent <no-reply@site.example>\r\n"
        b"Reply-To: visitor@guest.example\r\nTo: info@port-argent.example\r\n"
        b"Subject: Formulaire de contact\r\nMessage-ID: <form-1@site.example>\r\n"
        b"Date: Tue, 21 Jul 2026 09:58:00 +0200\r\n\r\n"
        b"Nom : Ana Lopes\r\nMessage : Le phare est-il ouvert dimanche ?\r\n",
    )
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [r for r in client.get("/api/conversations").json() if r["channel"] == "email"]
        )
        detail = client.get(f"/api/conversations/{rows[0]['id']}").json()
        # The adviser sees where the reply goes.
        assert detail["messages"][0]["details"]["reply_to"] == "visitor@guest.example"
        reply = client.post(
            f"/api/conversations/{rows[0]['id']}/messages", json={"text": "Oui, de 10 h à 18 h."}
        )
        assert reply.status_code == 201
        sent = wait_for(lambda: collector.messages)
    mail = message_from_bytes(sent[0], policy=policy.default)
    assert [a.addr_spec for a in mail["To"].addresses] == ["visitor@guest.example"]
    assert "no-reply" not in str(mail["To"])


def test_a_shared_message_id_from_another_sender_is_its_own_mail_and_a_copy_is_not(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)

    def raw(sender: str, message_id: str, text: str) -> bytes:
        return (
            f"From: {sender}\r\nTo: info@port-argent.example\r\nSubject: Question\r\n"
            f"Message-ID: <{message_id}>\r\n\r\n{text}\r\n"
        ).encode()

    first = raw("ana@example.org", "1@broken-mailer.example", "Le phare ouvre quand ?")
    append(dovecot, first)
    append(dovecot, raw("bob@example.net", "1@broken-mailer.example", "Un vélo pour demain ?"))
    append(dovecot, first)  # the same mail again, under a new UID
    append(dovecot, raw("cleo@example.org", "2@example.org", "Merci"))  # read after the copy
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:

        def texts() -> list[str]:
            rows = [r for r in client.get("/api/conversations").json() if r["channel"] == "email"]
            found = []
            for row in rows:
                detail = client.get(f"/api/conversations/{row['id']}").json()
                found += [m["text"] for m in detail["messages"] if m["direction"] == "in"]
            return found

        wait_for(lambda: "Merci" in texts())
        assert sorted(texts()) == ["Le phare ouvre quand ?", "Merci", "Un vélo pour demain ?"]
