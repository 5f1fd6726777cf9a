"""Never silent, in a real browser: the widget on a host page of another origin tells the visitor
nobody is online and offers the address form; they leave an address and close the tab; the
adviser's reply reaches them by e-mail (a real SMTP server, aiosmtpd), and its link reopens the
widget in their conversation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from app.embedded_redis import free_port
from tests.app.conftest import Collector
from tests.app.test_email_channel import configure, wait_for
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.host_site import host_site
from tests.support.dovecot import DovecotServer, running_dovecot

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot(tls=True) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


@pytest.fixture
def mailbox_live(
    make_server: Any,
    dovecot: DovecotServer,
    smtp: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> LiveServer:
    monkeypatch.setenv("CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD", dovecot.password)
    configure(make_server(seed_data=True), dovecot, smtp[1])
    live: LiveServer = make_server(offline_notice_seconds=3)
    return live


def test_nobody_online_the_visitor_leaves_an_address_and_gets_the_reply_by_mail(
    mailbox_live: LiveServer, smtp: tuple[Collector, int], new_page: Any
) -> None:
    live = mailbox_live
    collector = smtp[0]
    visitor = new_page(locale="en-GB")
    with host_site(live, title="Hotel du Port", lang="en", heading="Hotel du Port") as url:
        visitor.goto(url)
        widget = visitor.locator("[data-concierge-widget]")
        widget.get_by_test_id("widget-bubble").click()
        widget.get_by_test_id("widget-input").fill("Is the lighthouse open tomorrow?")
        widget.get_by_test_id("widget-input").press("Enter")
        notice = widget.get_by_test_id("widget-offline")
        expect(notice.get_by_test_id("widget-offline-text")).to_contain_text(
            "Nobody at Office de Tourisme de Port-Argent is available right now", timeout=15_000
        )
        expect(notice.get_by_test_id("widget-offline-purpose")).to_have_text(
            "Leave your e-mail address (optional) so that our answer reaches you if you have left."
        )
        email = notice.get_by_label("Your e-mail address")
        expect(email).to_be_visible()
        email.fill("jane@example")
        email.press("Enter")  # keyboard only
        expect(notice.get_by_role("alert")).to_contain_text("This is not an e-mail address")
        expect(notice.get_by_label("Your e-mail address")).to_be_focused()
        notice.get_by_label("Your e-mail address").fill("jane.doe@example.org")
        notice.get_by_test_id("widget-offline-submit").click()
        expect(notice.get_by_test_id("widget-offline-saved")).to_contain_text("j…@example.org")
        expect(notice.get_by_test_id("widget-offline-remove")).to_be_focused()
        screenshot(visitor, "widget-offline-desktop")
        visitor.close()  # the visitor has gone

    adviser_page = new_page()
    adviser_login(adviser_page, live, office_login(live, "port-argent"))
    adviser_page.get_by_test_id("conversation-item").first.click()
    expect(adviser_page.get_by_text("Le visiteur a laissé une adresse e-mail")).to_be_visible()
    adviser_page.get_by_test_id("reply-text").fill("Yes, from 10:00 to 18:00.")
    adviser_page.get_by_test_id("reply-text").press("Control+Enter")
    sent = wait_for(lambda: collector.messages, timeout=15)
    mail = message_from_bytes(sent[0], policy=policy.default)
    assert "jane.doe@example.org" in str(mail["To"])
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Yes, from 10:00 to 18:00." in body
    assert "Your message to" in str(mail["Subject"])
    expect(adviser_page.get_by_test_id("message").last).to_contain_text("Envoyé", timeout=15_000)

    # The mail's link reopens the widget in the conversation, on a phone.
    link = re.search(r"(https?://\S+/chat/\S+)", body)
    assert link is not None
    path = link.group(1).split("/chat/", 1)[1]
    phone = new_page(locale="en-GB", viewport=PHONE)
    phone.goto(f"{live.url}/chat/{path}")
    reopened = phone.locator("[data-concierge-widget]")
    expect(reopened.get_by_test_id("widget-panel")).to_be_visible()
    expect(reopened.locator("[data-author=adviser]").last).to_contain_text("from 10:00 to 18:00")
    expect(reopened.locator("[data-author=visitor]").first).to_contain_text("lighthouse")
    screenshot(phone, "widget-offline-link-phone")


def test_the_notice_and_form_on_a_phone_in_dutch(mailbox_live: LiveServer, new_page: Any) -> None:
    visitor = new_page(locale="nl-NL", viewport=PHONE)
    with host_site(mailbox_live, title="Hotel du Port", lang="en", heading="Hotel du Port") as url:
        visitor.goto(url)
        widget = visitor.locator("[data-concierge-widget]")
        widget.get_by_test_id("widget-bubble").click()
        widget.get_by_test_id("widget-input").fill("Is de vuurtoren morgen open?")
        widget.get_by_test_id("widget-input").press("Enter")
        notice = widget.get_by_test_id("widget-offline")
        expect(notice.get_by_test_id("widget-offline-text")).to_contain_text(
            "niemand beschikbaar", timeout=15_000
        )
        field = notice.get_by_label("Uw e-mailadres")
        expect(field).to_be_in_viewport()
        box = notice.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        screenshot(visitor, "widget-offline-phone-nl")


def test_accounts_tells_the_manager_which_widgets_cannot_email_replies(
    live: LiveServer, new_page: Any
) -> None:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    page = new_page(locale="en-GB")
    page.goto(f"{live.url}/login")
    page.get_by_test_id("login-email").fill(manager.email)
    page.get_by_test_id("login-password").fill(manager.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{live.url}/inbox")
    page.goto(f"{live.url}/accounts")
    notice = page.get_by_test_id("mailbox-notice")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("heading")).to_have_text(
        "Replies to visitors who have left cannot be e-mailed"
    )
    expect(notice.get_by_test_id("mailbox-missing").first).to_contain_text("Port-Argent")
    screenshot(page, "accounts-mailbox-notice")
