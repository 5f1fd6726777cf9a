"""The inbox holds a whole evening: 60 conversations, a desktop and a phone, French and English."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import many_chats

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def in_view(page: Page, testid: str) -> bool:
    return bool(
        page.evaluate(
            """(id) => {
              const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
              return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight + 1
                && r.left >= 0 && r.right <= window.innerWidth + 1;
            }""",
            testid,
        )
    )


def page_scrolls(page: Page) -> dict[str, int]:
    return page.evaluate(
        """() => ({
          vertical: document.scrollingElement.scrollHeight - window.innerHeight,
          horizontal: document.scrollingElement.scrollWidth - window.innerWidth,
        })"""
    )


@pytest.fixture
def crowded(live: LiveServer) -> LiveServer:
    many_chats(live, 60)
    return live


@pytest.mark.e2e
@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_the_page_holds_on_a_desktop_with_60_conversations(
    crowded: LiveServer, new_page: Any, locale: str
) -> None:
    page = new_page(locale=locale, viewport=DESKTOP)
    adviser_login(page, crowded, office_login(crowded, "port-argent"))
    items = page.get_by_test_id("conversation-item")
    expect(page.get_by_test_id("load-more")).to_be_visible()  # 50 a page, then on scrolling
    assert 50 <= items.count() < 60
    items.nth(30).click()
    expect(page.get_by_test_id("messages")).to_contain_text("Visitor")
    assert page_scrolls(page) == {"vertical": 0, "horizontal": 0}
    for part in ("thread-title", "reply-text", "reply-send", "toggle-status", "conversation-list"):
        assert in_view(page, part), part
    last = page.get_by_test_id("message").last
    expect(last).to_be_in_viewport()
    # The list scrolls on its own and brings the next page.
    page.get_by_test_id("conversation-list").evaluate("(l) => { l.scrollTop = l.scrollHeight; }")
    expect(items).to_have_count(60)
    assert page_scrolls(page)["vertical"] == 0
    screenshot(page, f"inbox-desktop-{locale}")


@pytest.mark.e2e
@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_on_a_phone_list_then_thread_then_back(
    crowded: LiveServer, new_page: Any, locale: str
) -> None:
    page = new_page(locale=locale, viewport=PHONE)
    adviser_login(page, crowded, office_login(crowded, "port-argent"))
    items = page.get_by_test_id("conversation-item")
    expect(items.first).to_be_visible()
    assert page_scrolls(page) == {"vertical": 0, "horizontal": 0}
    screenshot(page, f"inbox-phone-list-{locale}")
    items.nth(5).click()
    expect(page.get_by_test_id("thread")).to_be_visible()
    expect(page.get_by_test_id("conversation-list")).to_be_hidden()
    for part in ("back", "thread-title", "reply-text", "reply-send", "toggle-status"):
        assert in_view(page, part), part
    assert page_scrolls(page) == {"vertical": 0, "horizontal": 0}
    screenshot(page, f"inbox-phone-thread-{locale}")
    page.get_by_test_id("back").click()
    expect(page.get_by_test_id("conversation-list")).to_be_visible()
    # The browser's own back button does the same.
    items.nth(6).click()
    expect(page.get_by_test_id("thread")).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("conversation-list")).to_be_visible()
    expect(page.get_by_test_id("thread")).to_be_hidden()


@pytest.mark.e2e
def test_a_managers_thread_actions_fit_a_phone_in_french(live: LiveServer, new_page: Any) -> None:
    many_chats(live, 3)
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    page = new_page(locale="fr-FR", viewport=PHONE)
    adviser_login(page, live, manager)
    page.get_by_test_id("conversation-item").first.click()
    for part in ("back", "reply-send", "visitor-data", "erase-visitor", "toggle-status", "logout"):
        assert in_view(page, part), part
    assert page_scrolls(page) == {"vertical": 0, "horizontal": 0}
    screenshot(page, "inbox-phone-manager-fr-FR")
