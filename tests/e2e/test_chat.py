"""Visitor widget → adviser inbox → reply → visitor, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import OFFICE_HOURS, LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>window.__pwned = 1; alert(2)</script>"


def open_widget(page: Page, live: LiveServer, account: str = "chat-port-argent") -> Any:
    page.goto(f"{live.url}/demo?account={account}")
    widget = page.locator("[data-concierge-widget]")
    widget.get_by_test_id("widget-bubble").click()
    expect(widget.get_by_test_id("widget-panel")).to_be_visible()
    expect(widget.get_by_test_id("widget-privacy")).to_contain_text("365")
    return widget


def visitor_says(widget: Any, text: str) -> None:
    widget.get_by_test_id("widget-input").fill(text)
    widget.get_by_test_id("widget-input").press("Enter")
    expect(widget.locator("[data-author=visitor]:not(.pending)").last).to_have_text(text)


def test_chat_round_trip_live_and_reload_resumes(live: LiveServer, new_page: Any) -> None:
    adviser_page = new_page()
    adviser_login(adviser_page, live, office_login(live, "port-argent"))
    expect(adviser_page.get_by_test_id("list-empty")).to_be_visible()

    visitor_page = new_page(locale="en-GB")
    widget = open_widget(visitor_page, live)
    expect(widget.get_by_test_id("widget-answering")).to_have_text(
        "Office de Tourisme de Port-Argent answers you"
    )
    visitor_says(widget, "Is the lighthouse open tonight?")

    # The new conversation appears in the adviser's inbox without a reload, unread.
    item = adviser_page.get_by_test_id("conversation-item").first
    expect(item).to_contain_text("Is the lighthouse open tonight?")
    expect(item.get_by_test_id("unread-badge")).to_have_text("1")
    item.click()
    expect(adviser_page.get_by_test_id("messages")).to_contain_text(
        "Is the lighthouse open tonight?"
    )
    expect(item.get_by_test_id("unread-badge")).to_have_count(0)

    adviser_page.get_by_test_id("reply-text").fill("Yes, until 22:00.")
    adviser_page.get_by_test_id("reply-text").press("Control+Enter")
    expect(widget.locator("[data-author=adviser]").last).to_contain_text("Yes, until 22:00.")
    expect(adviser_page.locator("[data-testid=message][data-direction=out]").last).to_contain_text(
        "Envoyé"
    )
    screenshot(adviser_page, "inbox")
    screenshot(visitor_page, "widget")

    # Reloading the visitor's page resumes the same conversation.
    visitor_page.reload()
    widget = visitor_page.locator("[data-concierge-widget]")
    expect(widget.get_by_test_id("widget-panel")).to_be_visible()
    expect(widget.locator("[data-author=adviser]").last).to_contain_text("Yes, until 22:00.")
    visitor_says(widget, "Thanks!")
    expect(adviser_page.get_by_test_id("messages")).to_contain_text("Thanks!")
    expect(adviser_page.get_by_test_id("conversation-item")).to_have_count(1)

    # Resolve with the keyboard, then the conversation leaves the open list.
    adviser_page.get_by_test_id("messages").click()
    adviser_page.keyboard.press("e")
    expect(adviser_page.get_by_test_id("toggle-status")).to_have_text("Rouvrir")
    expect(adviser_page.get_by_test_id("conversation-item")).to_have_count(0)


def test_hostile_html_is_shown_as_text_and_never_runs(live: LiveServer, new_page: Any) -> None:
    adviser_page = new_page()
    adviser_login(adviser_page, live, office_login(live, "port-argent"))
    visitor_page = new_page()
    widget = open_widget(visitor_page, live)
    visitor_says(widget, XSS_IMG)
    visitor_says(widget, XSS_SCRIPT)

    adviser_page.get_by_test_id("conversation-item").first.click()
    messages = adviser_page.get_by_test_id("messages")
    expect(messages).to_contain_text(XSS_IMG)
    expect(messages).to_contain_text(XSS_SCRIPT)
    assert adviser_page.locator("[data-testid=messages] img").count() == 0
    assert adviser_page.locator("[data-testid=messages] script").count() == 0
    assert adviser_page.evaluate("window.__pwned") is None
    expect(adviser_page.get_by_test_id("conversation-item").first).to_contain_text("<script>")

    # And the adviser's hostile reply is text on the visitor's side too.
    adviser_page.get_by_test_id("reply-text").fill(XSS_IMG)
    adviser_page.get_by_test_id("reply-send").click()
    expect(widget.locator("[data-author=adviser]").last).to_contain_text(XSS_IMG)
    assert (
        visitor_page.evaluate(
            "document.querySelector('[data-concierge-widget]')"
            ".shadowRoot.querySelectorAll('ol img').length"
        )
        == 0
    )
    assert visitor_page.evaluate("window.__pwned") is None


def test_phone_sized_widget_and_keyboard(live: LiveServer, new_page: Any) -> None:
    page = new_page(viewport={"width": 375, "height": 700})
    page.goto(f"{live.url}/demo?account=chat-saint-clair")
    widget = page.locator("[data-concierge-widget]")
    bubble = widget.get_by_test_id("widget-bubble")
    bubble.focus()
    page.keyboard.press("Enter")
    panel = widget.get_by_test_id("widget-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and box["width"] <= 375 and box["x"] >= 0
    expect(widget.get_by_test_id("widget-input")).to_be_focused()
    page.keyboard.type("Où louer un vélo ?")
    page.keyboard.press("Enter")
    expect(widget.locator("[data-author=visitor]:not(.pending)")).to_have_text("Où louer un vélo ?")
    screenshot(page, "widget-phone")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bubble).to_be_focused()


def test_two_server_processes_share_one_redis(make_server: Any, new_page: Any) -> None:
    a = make_server()
    b = make_server()
    adviser_page = new_page()
    adviser_login(adviser_page, b, office_login(b, "les-salines"))
    visitor_page = new_page()
    widget = open_widget(visitor_page, a, account="chat-les-salines")
    visitor_says(widget, "Bonjour depuis le serveur A")
    adviser_page.get_by_test_id("conversation-item").first.click()
    expect(adviser_page.get_by_test_id("messages")).to_contain_text("Bonjour depuis le serveur A")
    adviser_page.get_by_test_id("reply-text").fill("Réponse depuis le serveur B")
    adviser_page.get_by_test_id("reply-send").click()
    expect(widget.locator("[data-author=adviser]").last).to_contain_text(
        "Réponse depuis le serveur B"
    )


def test_adviser_takes_and_transfers_from_the_inbox(live: LiveServer, new_page: Any) -> None:
    visitor_page = new_page()
    widget = open_widget(visitor_page, live)
    visitor_says(widget, "Le bac pour Saint-Clair part à quelle heure ?")

    here = new_page()
    adviser_login(here, live, office_login(live, "port-argent"))
    there = new_page()
    adviser_login(there, live, office_login(live, "saint-clair"))

    # Camille came online after the message: the queued conversation was assigned to her.
    item = here.get_by_test_id("conversation-item").first
    item.click()
    expect(here.get_by_test_id("thread-meta")).to_contain_text("Attribuée à Camille Martin")
    here.get_by_test_id("transfer").click()
    here.get_by_test_id("transfer-office").select_option(label="Office de Tourisme de Saint-Clair")
    here.get_by_test_id("transfer-note").fill("Question sur le bac")
    here.get_by_test_id("transfer-confirm").click()
    expect(here.get_by_test_id("conversation-item")).to_have_count(0)

    arrived = there.get_by_test_id("conversation-item").first
    expect(arrived).to_contain_text("Le bac pour Saint-Clair")
    arrived.click()
    expect(there.locator(".msg.note")).to_contain_text("Question sur le bac")
    expect(there.get_by_test_id("thread-meta")).to_contain_text("Office de Tourisme de Saint-Clair")
    screenshot(there, "inbox-transfer")
    there.get_by_test_id("reply-text").fill("Départ à 18 h 10.")
    there.get_by_test_id("reply-send").click()
    expect(widget.locator("[data-author=adviser]").last).to_contain_text("Départ à 18 h 10.")
    expect(widget.get_by_test_id("widget-messages")).not_to_contain_text("Question sur le bac")


def test_rota_page_renders(live: LiveServer, new_page: Any) -> None:
    page = new_page(locale="fr-FR")
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    adviser_login(page, live, manager)
    page.get_by_test_id("nav-rota").click()
    expect(page.get_by_test_id("rota-calendar")).to_be_visible()
    expect(page.get_by_test_id("rota-day")).to_have_count(7)
    page.get_by_test_id("override-start").fill("2026-07-24T19:00")
    page.get_by_test_id("override-end").fill("2026-07-24T22:00")
    page.get_by_test_id("override-add").click()
    expect(page.get_by_test_id("rota-gap").first).to_contain_text("19:00–22:00")
    screenshot(page, "rota")


def test_dashboard_renders_with_demo_history(live: LiveServer, new_page: Any) -> None:
    import asyncio
    import threading

    from sqlmodel import select

    from app.db import Database
    from app.demo_history import generate
    from app.models import Destination
    from app.rollups import build_stale

    async def write() -> int:
        db = Database(live.settings.sqlalchemy_url)
        async with db.session() as session:
            written = await generate(session, 14, OFFICE_HOURS)
            destination = (await session.exec(select(Destination))).one()
        # Past days from their rollups, as after `concierge demo`; today from its turns.
        assert await build_stale(db, destination, OFFICE_HOURS.date()) >= 13
        await db.dispose()
        return written

    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(asyncio.run(write())))
    thread.start()
    thread.join()
    assert done[0] > 50
    page = new_page(locale="en-GB")
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    adviser_login(page, live, manager)
    page.goto(f"{live.url}/dashboard?preset=30")
    expect(page.get_by_test_id("dash-accounts").locator("tbody tr")).not_to_have_count(0)
    expect(page.get_by_test_id("trend-duty")).to_have_attribute("points", re.compile(r"\d"))
    expect(page.get_by_test_id("dash-heat").locator("td[title]")).to_have_count(7 * 24)
    expect(page.locator("[data-tile=waiting]")).to_have_text(re.compile(r"^\d+$"))
    screenshot(page, "dashboard")


def test_a_manager_downloads_then_erases_a_visitors_data(live: LiveServer, new_page: Any) -> None:
    import json

    visitor_page = new_page()
    widget = open_widget(visitor_page, live)
    visitor_says(widget, "Je suis Ana, mon numéro est le 06 12 34 56 78")

    adviser = new_page()
    adviser_login(adviser, live, office_login(live, "port-argent"))
    expect(adviser.get_by_test_id("conversation-item").first).to_contain_text("06 12 34 56 78")
    expect(adviser.get_by_test_id("erase-visitor")).to_have_count(0)  # managers only

    page = new_page(locale="en-GB")
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    adviser_login(page, live, manager)
    page.get_by_test_id("conversation-item").first.click()
    expect(page.get_by_test_id("messages")).to_contain_text("06 12 34 56 78")
    with page.expect_download() as info:
        page.get_by_test_id("visitor-data").click()
    copy = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert copy["conversations"][0]["messages"][0]["text"].startswith("Je suis Ana")

    page.get_by_test_id("erase-visitor").click()
    expect(page.get_by_test_id("erase-form")).to_be_visible()
    page.get_by_test_id("erase-cancel").click()
    expect(page.get_by_test_id("messages")).to_contain_text("06 12 34 56 78")  # nothing yet
    page.get_by_test_id("erase-visitor").click()
    page.keyboard.press("Enter")  # the confirm button has the focus
    expect(page.get_by_test_id("thread-notice")).to_have_text("Erased: 1 conversation(s).")
    expect(page.get_by_test_id("erased-message")).to_have_count(1)
    expect(page.get_by_test_id("messages")).not_to_contain_text("06 12 34 56 78")
    expect(page.get_by_test_id("composer")).to_be_hidden()  # read-only from now on
    expect(page.get_by_test_id("toggle-status")).to_be_hidden()
    screenshot(page, "inbox-erased")
    # The adviser's open inbox follows live.
    expect(adviser.get_by_test_id("conversation-list")).not_to_contain_text("06 12 34 56 78")
