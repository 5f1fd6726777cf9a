"""A mail conversation's survey: resolved in the live inbox, the question leaves through the
mailbox's SMTP (aiosmtpd) in the visitor's thread, its signed link opens a one-page form that
records one answer; a reused, forged or expired link is a clear page and records nothing."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from tests.app.conftest import Collector
from tests.app.test_email_channel import CORPUS, append, mailbox_server, wait_for
from tests.conftest import LiveServer, login, office_login
from tests.support.dovecot import DovecotServer, running_dovecot
from tests.support.sql import connect as sql_connect

LINK = re.compile(r"/survey/([A-Za-z0-9_.\-]+)\?lang=(\w+)")


@pytest.fixture
def dovecot() -> Any:
    with running_dovecot(tls=True) as server:
        yield server


def survey_rows(live: LiveServer) -> list[tuple[Any, ...]]:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db:
        return db.execute("select via, rating, comment, answered_at from survey").fetchall()


def form_token(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_link_in_the_mail_works_once(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    append(dovecot, (CORPUS / "talon-replies" / "gmail.eml").read_bytes())
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [r for r in client.get("/api/conversations").json() if r["channel"] == "email"]
        )
        cid = rows[0]["id"]
        reply = client.post(f"/api/conversations/{cid}/messages", json={"text": "Voici le plan."})
        assert reply.status_code == 201
        wait_for(lambda: collector.messages)
        resolved = client.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
        assert resolved.status_code == 200, resolved.text
        mails = wait_for(lambda: collector.messages[1:])
        # Resolved again at once: no second question.
        client.post(f"/api/conversations/{cid}/status", json={"status": "open"})
        client.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
        thread = client.get(f"/api/conversations/{cid}").json()
    question = message_from_bytes(mails[0], policy=policy.default)
    first = message_from_bytes(collector.messages[0], policy=policy.default)
    assert str(question["In-Reply-To"]).strip() == str(first["In-Reply-To"]).strip()
    body = question.get_body(("plain",)).get_content()
    found = LINK.search(body)
    assert found, body
    token, lang = found.groups()
    assert lang in ("fr", "en")
    assert [m["kind"] for m in thread["messages"]].count("survey") == 1
    assert [r[0] for r in survey_rows(live)] == ["email"]
    with httpx.Client(base_url=live.url, timeout=10) as visitor:
        page = visitor.get(f"/survey/{token}?lang=de")
        assert page.status_code == 200 and page.headers["content-language"] == "de"
        assert "Wie zufrieden sind Sie" in page.text
        # The link is the key: never sent to another site (the app's same-origin policy).
        assert page.headers["referrer-policy"].split(",")[-1].strip() == "same-origin"
        csrf = form_token(page.text)
        # No CSRF token (another site's form): refused, nothing recorded.
        refused = visitor.post(f"/survey/{token}", data={"rating": "4", "comment": "x"})
        assert refused.status_code == 403 and survey_rows(live)[0][1] is None
        bad = visitor.post(
            f"/survey/{token}?lang=en", data={"rating": "9", "csrf_token": csrf, "comment": "hm"}
        )
        assert bad.status_code == 422 and "from 1 to 5" in bad.text
        for data in ({"rating": "4" * 20}, {"rating": "4", "comment": "é" * 5000}, {"rating": ""}):
            page = visitor.post(f"/survey/{token}?lang=en", data={**data, "csrf_token": csrf})
            assert page.status_code == 422 and 'data-testid="survey-invalid"' in page.text
        assert survey_rows(live)[0][1] is None
        done = visitor.post(
            f"/survey/{token}?lang=en",
            data={"rating": "4", "comment": "<script>alert(1)</script> Bien", "csrf_token": csrf},
        )
        assert done.status_code == 200 and 'data-testid="survey-thanks"' in done.text
        again = visitor.post(
            f"/survey/{token}?lang=en", data={"rating": "1", "comment": "", "csrf_token": csrf}
        )
        assert again.status_code == 409 and "already been answered" in again.text
        assert visitor.get(f"/survey/{token}?lang=fr").status_code == 409
        forged = visitor.get(f"/survey/{token[:-3]}abc?lang=en")
        assert forged.status_code == 404 and "not valid" in forged.text
        other_salt = visitor.get("/survey/eyJzIjoxfQ.aaaa.bbbb?lang=en")
        assert other_salt.status_code == 404
    [(via, rating, comment, _answered)] = survey_rows(live)
    assert (via, rating, comment) == ("email", 4, "<script>alert(1)</script> Bien")
    with login(live.url, adviser.email, adviser.password) as client:
        lines = client.get(f"/api/conversations/{cid}").json()["activities"]
        assert [a["detail"] for a in lines if a["kind"] == "survey"] == [
            "4\n<script>alert(1)</script> Bien"
        ]


def test_an_expired_link_is_a_clear_page_and_records_nothing(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector, smtp_port = smtp
    live = mailbox_server(make_server, dovecot, smtp_port, monkeypatch)
    append(dovecot, (CORPUS / "talon-replies" / "gmail.eml").read_bytes())
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = wait_for(
            lambda: [r for r in client.get("/api/conversations").json() if r["channel"] == "email"]
        )
        cid = rows[0]["id"]
        client.post(f"/api/conversations/{cid}/messages", json={"text": "Voici le plan."})
        wait_for(lambda: collector.messages)
        client.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
        mails = wait_for(lambda: collector.messages[1:])
    body = message_from_bytes(mails[0], policy=policy.default).get_body(("plain",)).get_content()
    found = LINK.search(body)
    assert found
    # Its days have passed (the stored expiry is what counts).
    path = live.settings.sqlalchemy_url
    past = datetime(2026, 7, 1, tzinfo=UTC) - timedelta(days=1)
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute("update survey set expires_at = ?", (f"{past:%Y-%m-%d %H:%M:%S}.000000",))
    with httpx.Client(base_url=live.url, timeout=10) as visitor:
        page = visitor.get(f"/survey/{found.group(1)}?lang=it")
        assert page.status_code == 410 and "scaduto" in page.text
        assert 'data-testid="survey-form"' not in page.text
        posted = visitor.post(f"/survey/{found.group(1)}", data={"rating": "5", "csrf_token": "x"})
        assert posted.status_code in (403, 410)
    assert [r[1] for r in survey_rows(live)] == [None]
