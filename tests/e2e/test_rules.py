"""Keyword rules in a real Chromium: a manager writes a rule, tries it on the last 30 days (a
count is shown), switches it on, and a new chat message with the word arrives labelled and
routed; reordering and deleting by keyboard — in French and English, on a laptop and a phone."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.conftest import DemoLogin, LiveServer
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import chat, many_chats

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def manager_of(live: LiveServer) -> DemoLogin:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


def add_label(live: LiveServer, name: str) -> None:
    """A label, as the labels' page would make it (through the models: times are UTC)."""
    from app.db import Database
    from app.models import Label
    from app.textnorm import key

    async def run() -> None:
        db = Database(live.settings.sqlalchemy_url)
        async with db.session() as session:
            session.add(Label(destination_id=1, name=name, key=key(name), color="#0b6e77",
                              created_at=datetime.now(UTC)))  # fmt: skip
            await session.commit()
        await db.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    thread.join()


def database(live: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(live.settings.sqlalchemy_url.split(":///", 1)[1])


def fits(page: Page, testid: str) -> None:
    """Every such element is inside the window, not spilling out sideways."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    for node in page.get_by_test_id(testid).all():
        box = node.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("fr-FR", DESKTOP), ("en-GB", PHONE)],
    ids=["fr-desktop", "en-phone"],
)
def test_a_manager_tries_a_rule_switches_it_on_and_the_next_message_is_labelled_and_routed(
    live: LiveServer, new_page: Any, locale: str, viewport: dict[str, int]
) -> None:
    add_label(live, "Marées")
    chat(live, "Bonjour, à quelle heure est la marée ce soir ?")
    many_chats(live, 3)
    name = f"rules-{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, manager_of(live))
    page.get_by_test_id("nav-rules").click()
    page.wait_for_url(f"{live.url}/rules")
    expect(page.get_by_test_id("rules-empty")).to_be_visible()

    page.get_by_test_id("rule-name").fill("Marées")
    page.get_by_test_id("rule-words").fill("marée\ntide\nGezeiten")
    page.get_by_test_id("rule-label").select_option(label="Marées")
    page.get_by_test_id("rule-office").select_option(label="Office de Tourisme des Salines")
    # Only the chosen office's advisers are offered.
    offered = (
        page.get_by_test_id("rule-adviser").locator("option:not([disabled])").all_inner_texts()
    )
    assert sorted(offered[1:]) == ["Chloé Laurent", "Louis Garnier"], offered
    page.get_by_test_id("rule-try").click()
    count = page.get_by_test_id("trial-count")
    expect(count).to_have_text(
        "Aurait trouvé 1 des 4 conversations des 30 derniers jours."
        if locale == "fr-FR"
        else "Would have matched 1 of the last 30 days' 4 conversations."
    )
    expect(page.get_by_test_id("trial-snippet")).to_have_text(
        "Bonjour, à quelle heure est la marée ce soir ?"
    )
    screenshot(page, f"{name}-trial")
    page.get_by_test_id("rule-save").click()
    rule = page.get_by_test_id("rule").filter(has_text="Marées")
    expect(rule).to_have_count(1)
    switch = rule.get_by_test_id("rule-active")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_be_focused()
    page.keyboard.press("Space")  # switched on from the keyboard
    expect(rule.get_by_test_id("rule-active")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_test_id("rules-notice")).to_be_visible()
    fits(page, "rule")
    screenshot(page, f"{name}-list")

    chat(live, "What are the TIDE times tomorrow?")
    with contextlib.closing(database(live)) as db:
        office, labels, reason = db.execute(
            "select o.slug, (select count(*) from conversation_label l where l.conversation_id = c.id"
            " and l.rule_id is not null), (select r.reason || ':' || r.detail from routingdecision r"
            " where r.conversation_id = c.id order by r.id desc limit 1)"
            " from conversation c join office o on o.id = c.office_id"
            " where c.preview like 'What are the TIDE%'"
        ).fetchone()
    assert (office, labels, reason) == ("les-salines", 1, "rule:Marées")
    expect(rule.get_by_test_id("rule-matched")).to_have_text(
        "0 trouvés" if locale == "fr-FR" else "0 matched"
    )
    page.reload()
    expect(
        page.get_by_test_id("rule").filter(has_text="Marées").get_by_test_id("rule-matched")
    ).to_have_text("1 trouvés" if locale == "fr-FR" else "1 matched")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_rules_are_reordered_edited_and_deleted_by_keyboard(
    live: LiveServer, new_page: Any
) -> None:
    page = new_page(locale="en-GB", viewport=DESKTOP)
    adviser_login(page, live, manager_of(live))
    page.goto(f"{live.url}/rules")
    for rule_name, word in (("Bikes", "velo*"), ("Complaints", "complaint")):
        page.get_by_test_id("rule-name").fill(rule_name)
        page.get_by_test_id("rule-words").fill(word)
        page.get_by_test_id("rule-priority").check()
        page.get_by_test_id("rule-save").click()
        expect(page.get_by_test_id("rule").filter(has_text=rule_name)).to_have_count(1)
    titles = page.get_by_test_id("rule-title")
    expect(titles).to_have_text(["Bikes", "Complaints"])
    page.get_by_test_id("rule").nth(1).get_by_test_id("rule-up").focus()
    page.keyboard.press("Enter")
    expect(titles).to_have_text(["Complaints", "Bikes"])
    # The focus follows the rule moved, so it can be moved on with the keyboard.
    expect(page.get_by_test_id("rule").nth(0).get_by_test_id("rule-edit")).to_be_focused()

    # A refused save says why, in the form.
    page.get_by_test_id("rule-name").fill("  complaints ")
    page.get_by_test_id("rule-words").fill("x")
    page.get_by_test_id("rule-priority").check()
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-error")).to_contain_text("already exists")

    page.get_by_test_id("rule").filter(has_text="Bikes").get_by_test_id("rule-edit").click()
    expect(page.get_by_test_id("rule-name")).to_be_focused()
    expect(page.get_by_test_id("rule-words")).to_have_value("velo*")
    page.get_by_test_id("rule-name").fill("Bicycles")
    page.get_by_test_id("rule-save").click()
    expect(titles).to_have_text(["Complaints", "Bicycles"])

    page.get_by_test_id("rule").filter(has_text="Bicycles").get_by_test_id("rule-delete").click()
    dialog = page.get_by_test_id("rule-delete-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("rule-delete-text")).to_contain_text("Bicycles")
    page.keyboard.press("Escape")  # Escape keeps it
    expect(dialog).to_be_hidden()
    expect(titles).to_have_text(["Complaints", "Bicycles"])
    page.get_by_test_id("rule").filter(has_text="Bicycles").get_by_test_id("rule-delete").click()
    page.get_by_test_id("rule-delete-confirm").click()
    expect(titles).to_have_text(["Complaints"])
