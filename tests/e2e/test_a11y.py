"""An automated accessibility scan (axe-core) of the pages: no serious or critical violation."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.e2e.test_pages import LOCALES, PHONE, manager, sign_in

BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[str]:
    """Each serious or critical violation, with the elements it was found on."""
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:5]]
            found.append(
                f"{violation['impact']} {violation['id']}: {violation['help']} → {targets}"
            )
    return found


@pytest.mark.parametrize(
    ("language", "viewport"), [("fr", None), ("en", PHONE)], ids=["fr-1280", "en-390"]
)
def test_manager_pages_have_no_serious_violation(
    live: LiveServer, new_page: Any, language: str, viewport: dict[str, int] | None
) -> None:
    page: Page = new_page(locale=LOCALES[language], viewport=viewport)
    page.goto(f"{live.url}/login")
    assert blocking_violations(page) == [], "login"
    sign_in(page, live, manager(live))
    for path, ready in (
        ("/dashboard", "dashboard"),
        ("/rota", "rota-calendar"),
        ("/rota?view=month", "rota-calendar"),
        ("/accounts", "accounts"),
        ("/team", "team"),
        ("/password", "password-form"),
        ("/privacy", "retention"),
    ):
        page.goto(f"{live.url}{path}")
        expect(page.get_by_test_id(ready)).to_be_visible()
        expect(page.locator("h1")).to_have_count(1)
        assert blocking_violations(page) == [], path


@pytest.mark.parametrize("language", ["fr", "en"])
def test_demo_page_with_the_chat_open_has_no_serious_violation(
    live: LiveServer, new_page: Any, language: str
) -> None:
    page: Page = new_page(locale=LOCALES[language], viewport=PHONE)
    page.goto(f"{live.url}/demo")
    widget = page.locator("[data-concierge-widget]")
    opener = (
        "Discuter avec l'office de tourisme" if language == "fr" else "Chat with the tourist office"
    )
    expect(widget.get_by_test_id("widget-bubble")).to_have_attribute("aria-label", opener)
    assert blocking_violations(page) == [], "demo"
    widget.get_by_test_id("widget-bubble").click()
    expect(widget.get_by_test_id("widget-panel")).to_be_visible()
    expect(widget.get_by_test_id("widget-answering")).not_to_be_empty()
    assert blocking_violations(page) == [], "demo with the chat open"
