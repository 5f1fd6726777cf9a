"""Labels in a real Chromium: an adviser puts one on from the thread header with the keyboard
(L, type, Enter, Escape), its chip appears in the row, and the list is filtered by it — with 60+
labelled conversations, on a desktop and a phone, in French and English."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from app import labels
from tests.conftest import LiveServer, login, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import many_chats
from tests.e2e.test_moderation import serious_violations

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
NAMES = [("Hébergement", "#2563eb"), ("Transports", "#ea580c"), ("Marées", "#0891b2"),
         ("Événements", "#9333ea"), ("Réclamation", "#fde047")]  # fmt: skip


def assert_accessible(page: Page) -> None:
    """No serious or critical axe violation on the page as labels leave it."""
    found = serious_violations(page)
    assert found == [], "\n".join(map(str, found))


def labelled_inbox(live: LiveServer) -> None:
    """62 conversations, most carrying one to four labels; "Vélo" on none yet."""
    many_chats(live, 62)
    boss = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, boss.email, boss.password) as client:
        ids = [c["id"] for c in client.get("/api/conversations?status=all").json()]
        assert len(ids) >= 60
        made = [client.post("/api/labels", json={"name": n, "color": c}).json() for n, c in NAMES]
        client.post("/api/labels", json={"name": "Vélo", "color": "#059669"})
        for step, label in enumerate(made):
            chosen = ids[step :: step + 2]
            client.post(f"/api/labels/{label['id']}/bulk", json={"ids": chosen, "action": "add"})


@pytest.mark.parametrize(
    ("locale", "viewport"), [("fr-FR", DESKTOP), ("en-GB", PHONE)], ids=["fr-desktop", "en-phone"]
)
def test_label_from_the_header_with_the_keyboard_then_filter(
    live: LiveServer, new_page: Any, locale: str, viewport: dict[str, int]
) -> None:
    labelled_inbox(live)
    phone = viewport is PHONE
    name = f"labels-{locale[:2]}-{'phone' if phone else 'desktop'}"
    page: Page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, office_login(live, "port-argent"))
    expect(page.get_by_test_id("label-chip").first).to_be_visible()
    screenshot(page, f"{name}-list")
    rows = page.get_by_test_id("conversation-item")
    first = rows.first
    cid = first.get_attribute("data-id")
    first.get_by_test_id("conversation-open").click()
    expect(page.get_by_test_id("thread")).to_be_visible()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("l")
    search = page.get_by_test_id("label-search")
    expect(search).to_be_focused()
    search.type("velo")
    expect(page.get_by_test_id("label-option")).to_have_count(1)
    box = page.get_by_test_id("label-menu").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, f"{name}-menu")
    assert_accessible(page)
    search.press("Enter")
    chips = page.get_by_test_id("thread-label-chips")
    expect(chips.get_by_test_id("label-chip").filter(has_text="Vélo")).to_be_visible()
    search.press("Escape")
    expect(page.get_by_test_id("label-menu")).to_be_hidden()
    expect(page.get_by_test_id("label-add")).to_be_focused()
    expect(page.get_by_test_id("activity").filter(has_text="Vélo")).to_be_visible()
    screenshot(page, f"{name}-thread")
    if phone:
        page.get_by_test_id("back").click()
    row = page.locator(f"[data-testid=conversation-item][data-id='{cid}']")
    expect(row.get_by_test_id("label-chip").filter(has_text="Vélo")).to_be_visible()
    # The filter: only that conversation carries Vélo.
    page.get_by_test_id("label-filter").select_option(label="Vélo")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(cid))
    screenshot(page, f"{name}-filtered")
    page.get_by_test_id("label-filter").select_option(value="")
    expect(rows.nth(10)).to_be_visible()


def test_the_dialog_opened_before_the_labels_arrive_fills_when_they_do(
    live: LiveServer, new_page: Any
) -> None:
    """A manager quick enough to open "Manage labels" before the page's first read of the labels
    gets the colours and the rows as soon as that read answers, and can create a label."""
    labelled_inbox(live)
    page: Page = new_page(locale="en-GB", viewport=DESKTOP)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/api/labels", hold)
    boss = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    adviser_login(page, live, boss)
    page.get_by_test_id("labels-manage").click()
    expect(page.get_by_test_id("labels-dialog")).to_be_visible()
    expect(page.get_by_test_id("label-swatch")).to_have_count(0)
    assert held, "the page read the labels"
    page.route("**/api/labels", lambda route: route.continue_())
    for route in held:
        route.continue_()
    expect(page.get_by_test_id("label-swatch")).to_have_count(len(labels.PALETTE))
    expect(page.get_by_test_id("label-swatch").first).to_be_checked()
    expect(page.get_by_test_id("label-admin-row")).to_have_count(len(NAMES) + 1)
    page.get_by_test_id("label-new-name").fill("Parkings")
    page.get_by_test_id("label-swatch").nth(2).check()
    page.get_by_test_id("label-create-submit").click()
    row = page.get_by_test_id("label-admin-row").filter(has=page.locator("input[value=Parkings]"))
    expect(row.get_by_test_id("label-edit-color")).to_have_value(labels.PALETTE[2])


def test_a_manager_manages_labels_and_labels_in_bulk(live: LiveServer, new_page: Any) -> None:
    labelled_inbox(live)
    page: Page = new_page(locale="en-GB", viewport=DESKTOP)
    boss = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    adviser_login(page, live, boss)
    page.get_by_test_id("labels-manage").click()
    dialog = page.get_by_test_id("labels-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("label-new-name")).to_be_focused()
    page.get_by_test_id("label-new-name").fill("  VELO ")
    page.get_by_test_id("label-create-submit").click()
    expect(page.get_by_test_id("labels-error")).to_contain_text("A label with this name exists")
    page.get_by_test_id("label-new-name").fill("Parkings")
    page.get_by_test_id("label-swatch").nth(4).check()
    page.get_by_test_id("label-create-submit").click()
    row = page.get_by_test_id("label-admin-row").filter(has=page.locator("input[value=Parkings]"))
    expect(row).to_have_count(1)
    screenshot(page, "labels-en-desktop-manage")
    assert_accessible(page)
    # Deleting asks first, then the label is gone everywhere.
    chip = page.get_by_test_id("label-chip").filter(has_text="Hébergement")
    hebergement = page.get_by_test_id("label-admin-row").filter(has=chip)
    hebergement.get_by_test_id("label-delete").click()
    confirm = hebergement.get_by_test_id("label-delete-confirm")
    expect(confirm).to_contain_text("Delete the label Hébergement?")
    confirm.get_by_test_id("label-delete-yes").click()
    expect(page.get_by_test_id("label-admin-row")).to_have_count(6)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("label-chip").filter(has_text="Hébergement")).to_have_count(0)
    # Three conversations labelled at once from the bulk bar.
    boxes = page.get_by_test_id("conversation-check")
    for i in range(3):
        boxes.nth(i).check()
    page.get_by_test_id("bulk-label").select_option(label="Parkings")
    page.get_by_test_id("bulk-label-add").click()
    expect(page.get_by_test_id("list-notice")).to_contain_text("Parkings: 3 changed, 0 skipped")
    items = page.get_by_test_id("conversation-item")
    for i in range(3):
        expect(
            items.nth(i).get_by_test_id("label-chip").filter(has_text="Parkings")
        ).to_be_visible()
    screenshot(page, "labels-en-desktop-bulk")
    page.goto(f"{live.url}/dashboard")
    expect(page.get_by_test_id("dash-labels")).to_contain_text("What visitors ask about")
    expect(page.get_by_test_id("dash-label-bar")).to_have_count(5)
    page.get_by_test_id("dash-labels").scroll_into_view_if_needed()
    screenshot(page, "labels-en-desktop-dashboard")
