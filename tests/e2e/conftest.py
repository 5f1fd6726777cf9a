"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import DemoLogin, LiveServer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# An expectation waits as long as an action (the pages' default, below): on a loaded 2-core
# machine a reply may take more than Playwright's 5 s to come back, and what is checked is that
# it comes, not how fast (bench/ measures that).
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[object]:
    contexts = []
    errors: list[str] = []

    def factory(locale: str = "fr-FR", viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(
            locale=locale, viewport=viewport or {"width": 1280, "height": 800}
        )
        context.set_default_timeout(10_000)
        # A page load on a busy 2-core machine (a server warming up, another test's browser)
        # may take longer than an action; waiting longer for it costs nothing when it is quick.
        context.set_default_navigation_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        # A script error in any page fails the test that caused it.
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on(
            "dialog",
            lambda dialog: (_ for _ in ()).throw(AssertionError(f"dialog: {dialog.message}")),
        )
        return page

    yield factory
    for context in contexts:
        context.close()
    assert not errors, errors


def adviser_login(page: Page, live: LiveServer, who: DemoLogin) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_test_id("login-email").fill(who.email)
    page.get_by_test_id("login-password").fill(who.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{live.url}/inbox")
    page.locator("[data-testid=live-status][data-state=live]").wait_for()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
