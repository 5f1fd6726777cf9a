"""Search in the inbox, in a real Chromium: "/" focuses the box, "chateau" finds "Château",
the match is marked, and opening the result lands on the message; Escape returns to the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import chat, many_chats

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("fr-FR", {"width": 1366, "height": 768}), ("en-GB", {"width": 390, "height": 844})],
)
def test_slash_then_chateau_finds_the_chateau_and_opens_at_the_message(
    live: LiveServer, new_page, locale: str, viewport: dict[str, int]
) -> None:
    token = chat(live, "Bonjour, le Château de la Roche est-il ouvert ce soir ?")
    # The match far above the end of the thread; 19 messages in all stay within a visitor's
    # rate (20 a window): more is refused when the machine sends them quickly.
    for n in range(18):
        chat(live, f"Et aussi, question {n} sur les horaires du marché ?", token=token)
    many_chats(live, 3)
    page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, office_login(live, "port-argent"))
    expect(page.get_by_test_id("conversation-item").first).to_be_visible()
    page.locator("body").click(position={"x": 1, "y": 1})
    page.keyboard.press("/")
    expect(page.get_by_test_id("search-input")).to_be_focused()
    page.keyboard.type("chateau")
    result = page.get_by_test_id("search-result")
    expect(result).to_have_count(1)
    expect(page.get_by_test_id("conversation-list")).to_be_hidden()
    expect(result.locator("mark")).to_have_text("Château")
    expect(page.get_by_test_id("search-summary")).to_have_text(
        "1 conversation trouvée" if locale == "fr-FR" else "1 conversation found"
    )
    # The filters fit the pane; a status with no match empties the results, then back.
    page.get_by_test_id("search-filters").locator("summary").click()
    expect(page.get_by_test_id("search-assignee").locator("option")).not_to_have_count(1)
    screenshot(page, f"search-filters-{locale}-{viewport['width']}")
    for testid in ("search-channel", "search-status", "search-label", "search-from"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], testid
    page.get_by_test_id("search-status").select_option("resolved")
    expect(result).to_have_count(0)
    page.get_by_test_id("search-status").select_option("open")
    expect(result).to_have_count(1)
    page.get_by_test_id("search-input").focus()
    screenshot(page, f"search-results-{locale}-{viewport['width']}")
    page.keyboard.press("Enter")
    hit = page.locator("[data-testid=message].search-hit")
    expect(hit).to_contain_text("Château de la Roche")
    expect(hit).to_be_in_viewport()
    if viewport["width"] > 760:  # the list pane stays beside the thread: the result is marked
        expect(result).to_have_attribute("aria-current", "true")
    screenshot(page, f"search-opened-{locale}-{viewport['width']}")
    if viewport["width"] > 760:
        page.get_by_test_id("search-input").focus()
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("search-input")).to_have_value("")
        expect(page.get_by_test_id("conversation-list")).to_be_visible()
