"""The answer library in a real Chromium: an adviser types "/lig" in the reply box, picks with
the keyboard and gets the German text for a German visitor; saves a sent reply as an answer
(a proposal); a manager approves it on /answers. At 1366×768 and 390×844, in French and English."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer, login, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import chat

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
QUESTION = "Ist der Leuchtturm heute Abend geöffnet?"
GERMAN = "Hallo {visitor_name}, der Leuchtturm ist täglich von 10:00 bis 18:30 geöffnet."


def seed_answers(live: LiveServer) -> None:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        for body in (
            {"title": "Phare : horaires", "shortcut": "lighthouse", "tags": ["phare"],
             "texts": {"fr": "Bonjour {visitor_name}, le phare ouvre à 10:00.",
                       "en": "Hello {visitor_name}, the lighthouse opens at 10:00.", "de": GERMAN}},
            # Port-Argent's own (ranked first for its conversation) but with no German text.
            {"title": "Ligne de bus 12", "shortcut": "ligne-bus", "office_id": 1,
             "texts": {"fr": "La ligne 12 passe toutes les 30 minutes.",
                       "en": "Bus 12 runs every 30 minutes."}},
            {"title": "Marées", "shortcut": "marees", "texts": {"fr": "Les marées…"}},
        ):  # fmt: skip
            response = client.post("/api/answers", json=body)
            assert response.status_code == 201, response.text


def make_german(live: LiveServer, text: str) -> None:
    """The visitor of the conversation that starts with ``text`` reads German (the widget
    only negotiates French or English; an e-mail or X visitor tells their own language)."""
    path = live.settings.database_url.split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE contact SET language = 'de', name = 'Anna' WHERE id IN "
            "(SELECT contact_id FROM conversation WHERE preview LIKE ?)",
            (text[:20] + "%",),
        )


def serious_violations(page: Page) -> list[tuple[str, list[Any]]]:
    results = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def in_view(page: Page, testid: str) -> None:
    node = page.get_by_test_id(testid)
    expect(node).to_be_visible()
    box = node.bounding_box()
    size = page.viewport_size or {"width": 0, "height": 0}
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1, box


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("fr-FR", DESKTOP), ("en-GB", DESKTOP), ("en-GB", PHONE), ("fr-FR", PHONE)],
    ids=["fr-desktop", "en-desktop", "en-phone", "fr-phone"],
)
def test_pick_an_answer_in_german_propose_one_and_approve_it(
    live: LiveServer, new_page: Any, locale: str, viewport: dict[str, int]
) -> None:
    seed_answers(live)
    chat(live, QUESTION)
    make_german(live, QUESTION)
    phone = viewport is PHONE
    name = f"answers-{locale[:2]}-{'phone' if phone else 'desktop'}"
    page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, office_login(live, "port-argent", 0))
    page.get_by_test_id("conversation-item").filter(has_text=QUESTION).get_by_test_id(
        "conversation-open"
    ).click()
    reply = page.get_by_test_id("reply-text")
    # Escape closes the picker and leaves what was typed.
    reply.click()
    reply.press_sequentially("/mar")
    expect(page.get_by_test_id("answer-option")).to_have_count(1)
    reply.press("Escape")
    expect(page.get_by_test_id("answer-picker")).to_be_hidden()
    expect(reply).to_have_value("/mar")
    expect(reply).to_be_focused()
    reply.fill("")
    reply.press_sequentially("Guten Abend! /lig")
    options = page.get_by_test_id("answer-option")
    expect(options).to_have_count(2)
    in_view(page, "answer-picker")
    # The office's own answer first, with its missing German said; the German one second.
    expect(options.nth(0)).to_have_attribute("data-shortcut", "ligne-bus")
    expect(options.nth(0).get_by_test_id("answer-fallback")).to_be_visible()
    expect(options.nth(1)).to_have_attribute("data-shortcut", "lighthouse")
    expect(options.nth(1).locator(".answer-lang")).to_have_text("DE")
    screenshot(page, f"{name}-picker")
    reply.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    reply.press("Enter")
    expect(page.get_by_test_id("answer-picker")).to_be_hidden()
    filled = GERMAN.replace("{visitor_name}", "Anna")
    expect(reply).to_have_value(f"Guten Abend! {filled}")
    # Sent as usual, then saved from the thread as a proposal.
    reply.press("Control+Enter")
    sent = page.get_by_test_id("message").filter(has_text=filled)
    expect(sent).to_be_visible()
    sent.get_by_test_id("save-as-answer").click()
    dialog = page.get_by_test_id("save-answer-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("save-answer-text")).to_have_value(f"Guten Abend! {filled}")
    expect(page.get_by_test_id("save-answer-language")).to_have_value("de")
    page.get_by_test_id("save-answer-name").fill("Leuchtturm am Abend")
    page.get_by_test_id("save-answer-shortcut").fill("Leuchtturm-Abend")
    screenshot(page, f"{name}-save")
    page.get_by_test_id("save-answer-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("answer-inserted")).to_be_visible()

    manager_page = new_page(locale=locale, viewport=viewport)
    adviser_login(
        manager_page, live, next(x for x in live.logins.values() if x.email.startswith("manager@"))
    )
    manager_page.goto(f"{live.url}/answers")
    proposal = manager_page.get_by_test_id("proposal").filter(has_text="Leuchtturm am Abend")
    expect(proposal).to_be_visible()
    screenshot(manager_page, f"{name}-page")
    in_view(manager_page, "proposal-approve")
    proposal.get_by_test_id("proposal-approve").click()
    expect(manager_page.get_by_test_id("answers-notice")).to_be_visible()
    expect(manager_page.get_by_test_id("proposal")).to_have_count(0)
    row = manager_page.locator("[data-testid=answer-row][data-shortcut=leuchtturm-abend]")
    expect(row).to_be_visible()
    # Used once (lighthouse) before: the count shows on the page.
    used = manager_page.locator("[data-testid=answer-row][data-shortcut=lighthouse]")
    expect(used.get_by_test_id("answer-uses")).to_have_text("1")
    screenshot(manager_page, f"{name}-approved")


def test_a_manager_creates_an_answer_with_a_text_per_language(
    live: LiveServer, new_page: Any
) -> None:
    page = new_page(locale="en-GB", viewport=DESKTOP)
    adviser_login(
        page, live, next(x for x in live.logins.values() if x.email.startswith("manager@"))
    )
    page.goto(f"{live.url}/answers")
    page.get_by_test_id("answer-new").click()
    expect(page.get_by_test_id("answer-dialog")).to_be_visible()
    page.get_by_test_id("answer-title").fill("Bike rental")
    page.get_by_test_id("answer-shortcut").fill("two words")
    page.get_by_test_id("answer-text-fr").fill("Location de vélos quai des Pêcheurs.")
    page.get_by_test_id("answer-save").click()
    expect(page.get_by_test_id("answer-error")).to_contain_text("letters, digits")
    page.get_by_test_id("answer-shortcut").fill("velo")
    page.get_by_test_id("answer-tab-nl").click()
    page.get_by_test_id("answer-text-nl").fill("Fietsverhuur aan de quai des Pêcheurs.")
    screenshot(page, "answers-en-desktop-form")
    assert serious_violations(page) == []
    page.get_by_test_id("answer-save").click()
    row = page.locator("[data-testid=answer-row][data-shortcut=velo]")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("answer-languages")).to_contain_text("FR")
    expect(row.get_by_test_id("answer-languages")).to_contain_text("NL")
    assert serious_violations(page) == []
    # Deleting asks first; Escape keeps the answer, the dialog's Delete removes it.
    row.get_by_test_id("answer-delete").click()
    expect(page.get_by_test_id("answer-confirm-text")).to_contain_text("Bike rental")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("answer-confirm")).to_be_hidden()
    expect(row).to_be_visible()
    row.get_by_test_id("answer-delete").click()
    page.get_by_test_id("answer-confirm-delete").click()
    expect(page.get_by_test_id("answers-notice")).to_be_visible()
    expect(page.locator("[data-testid=answer-row][data-shortcut=velo]")).to_have_count(0)
