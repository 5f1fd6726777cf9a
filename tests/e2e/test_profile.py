"""The visitor's profile beside the thread, in a real Chromium: opened with P (or its button on a
phone), it follows the conversation, counts what another office handles without showing it,
offers a merge when a chat visitor gives a known address, merges on confirmation and undoes it;
French and English, 1366×768 and 390×844."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from app.contact_demo import seed_demo
from app.db import Database
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
JULIA_CHAT = "Ich hatte Ihnen schon geschrieben"
MARC_CHAT = "feu d'artifice"


def seed_profiles(live: LiveServer) -> None:
    async def run() -> None:
        db = Database(live.settings.sqlalchemy_url)
        async with db.session() as session:
            await seed_demo(session, 1)
        await db.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    thread.join()


def in_view(page: Page, testid: str) -> None:
    node = page.get_by_test_id(testid)
    expect(node).to_be_visible()
    box = node.bounding_box()
    size = page.viewport_size or {"width": 0, "height": 0}
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1, box


def open_conversation(page: Page, text: str) -> None:
    page.get_by_test_id("conversation-item").filter(has_text=text).get_by_test_id(
        "conversation-open"
    ).click()
    expect(page.get_by_test_id("message").filter(has_text=text)).to_be_visible()


def open_panel(page: Page, phone: bool) -> None:
    if phone:
        page.get_by_test_id("profile-toggle").click()
    else:
        page.keyboard.press("p")
    expect(page.get_by_test_id("profile-panel")).to_be_visible()
    expect(page.get_by_test_id("profile-toggle")).to_have_attribute("aria-expanded", "true")


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("fr-FR", DESKTOP), ("en-GB", DESKTOP), ("fr-FR", PHONE), ("en-GB", PHONE)],
    ids=["fr-desktop", "en-desktop", "fr-phone", "en-phone"],
)
def test_the_profile_panel_shows_merges_and_undoes(
    live: LiveServer, new_page: Any, locale: str, viewport: dict[str, int]
) -> None:
    seed_profiles(live)
    phone = viewport is PHONE
    fr = locale.startswith("fr")
    name = f"profile-{locale[:2]}-{'phone' if phone else 'desktop'}"
    page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, office_login(live, "port-argent"))

    # Marc: one profile across three offices; Port-Argent sees its own chat, counts the others.
    open_conversation(page, MARC_CHAT)
    open_panel(page, phone)
    panel = page.get_by_test_id("profile-panel")
    expect(page.get_by_test_id("profile-name")).to_have_text("Marc Dupont")
    expect(page.get_by_test_id("profile-conversation")).to_have_count(1)
    expect(page.get_by_test_id("profile-hidden")).to_have_text(
        "2 autres conversations dans d'autres offices"
        if fr
        else "2 other conversations in other offices"
    )
    expect(panel).not_to_contain_text("vélos")  # Saint-Clair's subject is not ours to read
    expect(page.get_by_test_id("profile-event")).to_have_count(3)
    in_view(page, "profile-panel")
    if not phone:  # the thread stays readable beside it
        thread = page.get_by_test_id("messages").bounding_box()
        assert thread is not None and thread["width"] >= 560, thread
    screenshot(page, f"{name}-merged")

    # Julia: the panel follows the next conversation and offers her e-mail profile.
    if phone:
        page.get_by_test_id("profile-close").click()
        expect(panel).to_be_hidden()
        page.get_by_test_id("back").click()
    open_conversation(page, JULIA_CHAT)
    if phone:
        open_panel(page, phone)
    suggestion = page.get_by_test_id("profile-suggestion")
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_contain_text("julia.weber@example.de")
    expect(page.get_by_test_id("profile-conversation")).to_have_count(1)
    screenshot(page, f"{name}-suggestion")
    page.get_by_test_id("profile-merge").click()
    expect(page.get_by_test_id("profile-merge-box")).to_contain_text("Julia Weber")
    screenshot(page, f"{name}-confirm")
    page.get_by_test_id("profile-merge-confirm").click()
    expect(page.get_by_test_id("profile-conversation")).to_have_count(2)
    expect(page.get_by_test_id("profile-suggestion")).to_have_count(0)
    expect(page.get_by_test_id("profile-event").first).to_have_attribute("data-kind", "merge")
    expect(page.get_by_test_id("profile-email")).to_have_text("julia.weber@example.de")
    screenshot(page, f"{name}-after-merge")

    # Undo: the suggestion comes back, the e-mail conversation leaves the profile.
    page.get_by_test_id("profile-undo").click()
    expect(page.get_by_test_id("profile-conversation")).to_have_count(1)
    expect(page.get_by_test_id("profile-suggestion")).to_have_count(1)
    expect(page.get_by_test_id("profile-event").first).to_have_attribute("data-kind", "unmerge")

    # A correction, inline; a bad address is refused in the reader's language.
    page.get_by_test_id("profile-edit").click()
    page.get_by_test_id("profile-input-email").fill("julia@@example")
    page.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("profile-edit-error")).to_have_text(
        "Ce n'est pas une adresse e-mail (nom@exemple.fr)."
        if fr
        else "This is not an e-mail address (name@example.org)."
    )
    page.get_by_test_id("profile-input-email").fill("")
    page.get_by_test_id("profile-input-name").fill("Julia Weber")
    page.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("profile-name")).to_have_text("Julia Weber")
    expect(page.get_by_test_id("thread-name")).to_have_text("Julia Weber")  # live, in the thread

    # A conversation of the profile opens from the panel.
    page.get_by_test_id("profile-merge").click()
    page.get_by_test_id("profile-merge-confirm").click()
    page.get_by_test_id("profile-conversation").filter(has_text="Leuchtturmführung").click()
    expect(page.get_by_test_id("message").filter(has_text="Treffpunkt am Hafen")).to_be_visible()
    if phone:
        expect(panel).to_be_hidden()
    else:
        expect(panel).to_be_visible()
        page.get_by_test_id("profile-close").focus()
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(page.get_by_test_id("thread")).to_be_visible()  # Esc closed the panel only


def test_the_profile_panel_passes_an_accessibility_scan(live: LiveServer, new_page: Any) -> None:
    seed_profiles(live)
    page = new_page(locale="fr-FR", viewport=DESKTOP)
    adviser_login(page, live, office_login(live, "port-argent"))
    open_conversation(page, JULIA_CHAT)
    open_panel(page, phone=False)
    page.get_by_test_id("profile-merge").click()
    expect(page.get_by_test_id("profile-merge-box")).to_be_visible()
    results = Axe().run(page, context="#profile-panel")
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    page.get_by_test_id("profile-merge-cancel").click()
    page.get_by_test_id("profile-edit").click()
    expect(page.get_by_test_id("profile-input-name")).to_be_focused()
    results = Axe().run(page, context="#profile-panel")
    assert [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ] == []
    page.keyboard.press("Escape")  # closes the editor, not the panel
    expect(page.get_by_test_id("profile-edit-form")).to_have_count(0)
    expect(page.get_by_test_id("profile-panel")).to_be_visible()
