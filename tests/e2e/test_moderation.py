"""A manager stops abuse from the inbox, in a real Chromium: marks a conversation as spam (it
leaves the list at once, and waits in the Spam view), blocks its visitor, lifts the block, and
restores the conversation — in French and English, on a desktop and a phone."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.conftest import DemoLogin, LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import chat

pytestmark = pytest.mark.e2e

SPAM = "CHEAP WATCHES click here now"
REAL = "Is the ferry to the islands running tomorrow?"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def manager_of(live: LiveServer) -> DemoLogin:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


def item_of(page: Page, text: str) -> Any:
    return page.get_by_test_id("conversation-item").filter(has_text=text)


def back_to_list(page: Page, phone: bool) -> None:
    if phone:
        page.get_by_test_id("back").click()


def in_view(page: Page, testid: str) -> None:
    """Shown, inside the window, not spilling out of it sideways."""
    node = page.get_by_test_id(testid)
    expect(node).to_be_visible()
    box = node.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("fr-FR", DESKTOP), ("en-GB", DESKTOP), ("fr-FR", PHONE), ("en-GB", PHONE)],
    ids=["fr-desktop", "en-desktop", "fr-phone", "en-phone"],
)
def test_a_manager_marks_spam_blocks_the_visitor_and_restores_from_the_inbox(
    live: LiveServer, new_page: Any, locale: str, viewport: dict[str, int]
) -> None:
    chat(live, REAL)
    chat(live, SPAM)
    phone = viewport is PHONE
    name = f"moderation-{locale[:2]}-{'phone' if phone else 'desktop'}"
    page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, manager_of(live))
    expect(item_of(page, SPAM)).to_be_visible()

    item_of(page, SPAM).get_by_test_id("conversation-open").click()
    expect(page.get_by_test_id("message").filter(has_text=SPAM)).to_be_visible()
    page.get_by_test_id("moderate-open").click()
    in_view(page, "moderate-menu")
    screenshot(page, f"{name}-menu")
    page.get_by_test_id("mark-spam").click()
    dialog = page.get_by_test_id("spam-dialog")
    expect(dialog).to_be_visible()
    screenshot(page, f"{name}-confirm")
    page.get_by_test_id("spam-confirm").click()
    expect(dialog).to_be_hidden()
    # The thread says where it is now; the list has dropped it, not the real question.
    expect(page.get_by_test_id("spam-banner")).to_be_visible()
    expect(page.get_by_test_id("composer")).to_be_hidden()
    expect(page.get_by_test_id("activity").last).to_contain_text(
        "indésirable" if locale.startswith("fr") else "spam"
    )
    back_to_list(page, phone)
    expect(item_of(page, SPAM)).to_have_count(0)
    expect(item_of(page, REAL)).to_be_visible()
    expect(page.get_by_test_id("count-open")).to_have_text("1")  # counted nowhere either

    # Block the visitor behind it, from the thread, with a reason.
    page.get_by_test_id("filter-spam").click()
    item_of(page, SPAM).get_by_test_id("conversation-open").click()
    expect(page.get_by_test_id("count-open")).to_have_text("1")
    page.get_by_test_id("moderate-open").click()
    expect(page.get_by_test_id("not-spam")).to_be_visible()
    page.get_by_test_id("block-sender").click()
    expect(page.get_by_test_id("block-dialog")).to_be_visible()
    page.get_by_test_id("block-duration").select_option("7d")
    page.get_by_test_id("block-reason").fill("<b>adverts</b>")
    screenshot(page, f"{name}-block")
    page.get_by_test_id("block-confirm").click()
    expect(page.get_by_test_id("block-dialog")).to_be_hidden()
    expect(page.get_by_test_id("thread-notice")).to_be_visible()

    # The blocks, listed with their reason as text, and lifted.
    back_to_list(page, phone)
    page.get_by_test_id("blocks-open").click()
    blocks = page.get_by_test_id("block-item")
    expect(blocks).to_have_count(1)
    expect(blocks.first).to_contain_text("<b>adverts</b>")
    in_view(page, "blocks-dialog")
    screenshot(page, f"{name}-blocks")
    blocks.first.get_by_test_id("block-lift").click()
    expect(blocks).to_have_count(0)
    expect(page.get_by_test_id("blocks-empty")).to_be_visible()
    page.get_by_test_id("blocks-close").click()

    # Restored: back in the open list, answerable again.
    item_of(page, SPAM).get_by_test_id("conversation-open").click()
    page.get_by_test_id("moderate-open").click()
    page.get_by_test_id("not-spam").click()
    expect(page.get_by_test_id("spam-banner")).to_be_hidden()
    expect(page.get_by_test_id("composer")).to_be_visible()
    back_to_list(page, phone)
    expect(item_of(page, SPAM)).to_have_count(0)  # the Spam view is empty again
    page.get_by_test_id("filter-open").click()
    expect(item_of(page, SPAM)).to_be_visible()


def test_a_conversation_marked_as_spam_leaves_an_open_adviser_inbox_at_once(
    live: LiveServer, new_page: Any
) -> None:
    chat(live, REAL)
    chat(live, SPAM)
    adviser = new_page(locale="fr-FR", viewport=DESKTOP)
    adviser_login(adviser, live, office_login(live, "port-argent"))
    expect(item_of(adviser, SPAM)).to_be_visible()
    expect(adviser.get_by_test_id("moderate")).to_have_count(0)  # advisers get no menu
    expect(adviser.get_by_test_id("filter-spam")).to_have_count(0)
    manager = new_page(locale="en-GB", viewport=DESKTOP)
    adviser_login(manager, live, manager_of(live))
    manager.get_by_test_id("filter-all").click()
    item_of(manager, SPAM).get_by_test_id("conversation-check").check()
    manager.get_by_test_id("bulk-spam").click()
    expect(item_of(manager, SPAM)).to_have_count(0)
    # Live: the adviser's list drops it without a reload; the real question stays.
    expect(item_of(adviser, SPAM)).to_have_count(0)
    expect(item_of(adviser, REAL)).to_be_visible()


def serious_violations(page: Page) -> list[tuple[str, list[Any]]]:
    results = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_moderation_menu_and_dialogs_pass_an_accessibility_scan(
    live: LiveServer, new_page: Any
) -> None:
    chat(live, SPAM)
    page = new_page(locale="fr-FR", viewport=DESKTOP)
    adviser_login(page, live, manager_of(live))
    item_of(page, SPAM).get_by_test_id("conversation-open").click()
    expect(page.get_by_test_id("message").first).to_be_visible()
    page.get_by_test_id("moderate-open").click()
    expect(page.get_by_test_id("moderate-menu")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")  # closes the menu, back on its button
    expect(page.get_by_test_id("moderate-menu")).to_be_hidden()
    page.get_by_test_id("moderate-open").click()
    page.get_by_test_id("block-ip").click()
    expect(page.get_by_test_id("block-dialog")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_test_id("block-cancel").click()
    page.get_by_test_id("blocks-open").click()
    expect(page.get_by_test_id("blocks-empty")).to_be_visible()
    assert serious_violations(page) == []
