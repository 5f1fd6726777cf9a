"""In a real browser: opening marks read (by POST), logging out elsewhere ends the live inbox,
and spoofing bidi controls in a sender's name and subject are shown neutralised."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import expect

from app.inbox import Inbox
from app.services import Services
from connectors.email.parse import parse_message
from tests.app.test_bidi import spoofing_mail
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login
from tests.e2e.seeding import chat


def ingest_mail(live: LiveServer, raw: bytes) -> None:
    async def run() -> None:
        services = Services.create(live.settings)
        try:
            inbound = parse_message(
                raw, account="mail-port-argent", now=datetime(2026, 7, 21, 8, tzinfo=UTC)
            )
            await Inbox(services).ingest(inbound)
        finally:
            await services.close()

    # In a thread of its own: Playwright's sync API runs an event loop in this one.
    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    thread.join(30)


def test_opening_a_conversation_marks_it_read_for_good(live: LiveServer, new_page: Any) -> None:
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    chat(live, "Le phare est-il ouvert ce soir ?")
    item = page.get_by_test_id("conversation-item").first
    expect(item.get_by_test_id("unread-badge")).to_have_text("1")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/read")):
        item.click()
    expect(item.get_by_test_id("unread-badge")).to_have_count(0)
    # Stored, not only drawn: a reload shows it read.
    page.reload()
    page.locator("[data-testid=live-status][data-state=live]").wait_for()
    item = page.get_by_test_id("conversation-item").first
    expect(item).to_contain_text("Le phare est-il ouvert ce soir ?")
    expect(item.get_by_test_id("unread-badge")).to_have_count(0)


def test_logging_out_in_another_tab_sends_the_inbox_to_the_login_page(
    live: LiveServer, new_page: Any
) -> None:
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    other = page.context.new_page()
    other.goto(f"{live.url}/privacy")
    other.get_by_test_id("logout").click()
    other.wait_for_url(f"{live.url}/login")
    # The inbox's socket is closed with 4401 at once: it goes to sign in, not reconnecting.
    expect(page).to_have_url(f"{live.url}/login", timeout=5_000)
    expect(page.get_by_test_id("login-email")).to_be_visible()


def test_the_inbox_shows_spoofing_names_and_subjects_neutralised(
    live: LiveServer, new_page: Any
) -> None:
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    ingest_mail(live, spoofing_mail())
    item = page.get_by_test_id("conversation-item").first
    expect(item).to_contain_text("nimda Ana")
    item.click()
    expect(page.get_by_test_id("thread-title")).to_have_text("nimda Ana — Facture fdp.exe")
    expect(page.get_by_test_id("messages")).to_contain_text("invoicefdp.exe")
    shown = page.get_by_test_id("inbox").inner_text()
    assert "\u202e" not in shown and "\u202c" not in shown
