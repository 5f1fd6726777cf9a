"""Every page fits a phone and speaks the reader's language: French and English, 390×844 and
1366×768, screenshots of each under tests/e2e/artifacts/ to look at."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DemoLogin, LiveServer
from tests.e2e.conftest import ARTIFACTS, screenshot

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
LOCALES = {"fr": "fr-FR", "en": "en-GB"}
# The pages a manager opens, with what shows the page has rendered.
PAGES = [
    ("dashboard", "/dashboard", "dashboard"),
    ("rota-week", "/rota", "rota-calendar"),
    ("rota-month", "/rota?view=month", "rota-calendar"),
    ("accounts", "/accounts", "accounts"),
    ("team", "/team", "team"),
    ("privacy", "/privacy", "retention"),
    ("password", "/password", "password-form"),
    ("demo", "/demo", "demo-accounts"),
]


def manager(live: LiveServer) -> DemoLogin:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


def sign_in(page: Page, live: LiveServer, who: DemoLogin) -> None:
    # Five engineers share two cores: a page may take longer than the fixture's 10 s to settle.
    page.set_default_timeout(20_000)
    page.goto(f"{live.url}/login")
    page.get_by_test_id("login-email").fill(who.email)
    page.get_by_test_id("login-password").fill(who.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{live.url}/inbox")


def overflow(page: Page) -> dict[str, Any]:
    """How far the page is wider than the screen, and which elements stick out past its edge."""
    result: dict[str, Any] = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const out = [];
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            // Inside a box that scrolls on its own, sticking out is the point.
            let scroller = el.parentElement, inside = false;
            while (scroller && scroller !== document.body) {
              const style = getComputedStyle(scroller);
              if (/(auto|scroll|hidden)/.test(style.overflowX)) { inside = true; break; }
              scroller = scroller.parentElement;
            }
            if (!inside && (box.right > width + 1 || box.left < -1)) {
              out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(box.left)}–${Math.round(box.right)}`);
            }
          }
          return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 8)};
        }"""
    )
    return result


def assert_fits(page: Page, what: str) -> None:
    found = overflow(page)
    assert found["scroll"] <= found["width"], (what, found)
    assert found["out"] == [], (what, found)


def assert_top_bar_in_view(page: Page, width: int) -> None:
    for testid in ("logout", "language-fr", "language-en"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, testid
    # The password link: in the top row on a laptop, among the links on a phone; one shown.
    shown = page.locator('[data-testid^="nav-password"]:visible')
    expect(shown).to_have_count(1)
    box = shown.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    bar = page.get_by_test_id("topbar").bounding_box()
    assert bar is not None and bar["height"] <= (100 if width < 700 else 56)
    # Every link of the main navigation is on the screen, none hidden past its edge.
    for link in page.get_by_test_id("topnav").locator("a:visible").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1366"])
def test_no_page_is_wider_than_the_screen(
    live: LiveServer, new_page: Any, language: str, viewport: dict[str, int]
) -> None:
    page: Page = new_page(locale=LOCALES[language], viewport=viewport)
    size = viewport["width"]
    page.goto(f"{live.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_fits(page, "login")
    screenshot(page, f"page-login-{language}-{size}")

    sign_in(page, live, manager(live))
    assert_top_bar_in_view(page, size)
    assert_fits(page, "inbox top bar")
    screenshot(page, f"page-inbox-{language}-{size}")
    for name, path, ready in PAGES:
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.headers["content-language"] == language
        expect(page.get_by_test_id(ready)).to_be_visible()
        expect(page.locator("h1")).to_have_count(1)
        if name == "dashboard":
            expect(page.locator("[data-tile=oldest]")).not_to_have_text("…")
        assert_top_bar_in_view(page, size)
        assert_fits(page, name)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"page-{name}-{language}-{size}.png"), full_page=True)

    # The chat widget, opened on the demo page, fits the phone too.
    page.goto(f"{live.url}/demo")
    widget = page.locator("[data-concierge-widget]")
    widget.get_by_test_id("widget-bubble").click()
    expect(widget.get_by_test_id("widget-panel")).to_be_visible()
    assert_fits(page, "demo with the widget open")
    screenshot(page, f"page-demo-widget-{language}-{size}")


def test_figures_follow_the_language(live: LiveServer, new_page: Any) -> None:
    for language, days, percent in (("fr", " j ", "\u202f%"), ("en", " d ", "%")):
        page: Page = new_page(locale=LOCALES[language])
        sign_in(page, live, manager(live))
        page.goto(f"{live.url}/dashboard?preset=30")
        oldest = page.locator("[data-tile=oldest]")
        expect(oldest).not_to_have_text("…")
        text = oldest.inner_text()
        # The demo's oldest waiting visitor wrote days ago: the live tile says it the local way.
        if re.search(r"\d+ [jd] \d+ h", text):
            assert days in text, text
        rates = page.get_by_test_id("dash-accounts").inner_text()
        if "%" in rates:
            assert percent in rates
            if language == "en":
                assert "\u202f%" not in rates and " %" not in rates
        # 24-hour clock in both languages.
        page.goto(f"{live.url}/rota")
        blocks = page.get_by_test_id("rota-block").all_inner_texts()
        assert blocks and all(re.match(r"\d\d:\d\d–\d\d:\d\d", b) for b in blocks), blocks[:3]
        assert not any(re.search(r"\b(AM|PM)\b", b) for b in blocks)


def test_the_language_is_chosen_in_the_top_bar_and_remembered(
    live: LiveServer, new_page: Any
) -> None:
    page: Page = new_page(locale="fr-FR", viewport=PHONE)
    sign_in(page, live, manager(live))
    page.goto(f"{live.url}/rota?view=month")
    expect(page.locator("h1")).to_have_text("Planning des permanences")
    expect(page.get_by_test_id("language-fr")).to_have_attribute("aria-pressed", "true")
    # Keyboard only: focus the English button and press Enter.
    page.get_by_test_id("language-en").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/rota?view=month")
    expect(page.locator("h1")).to_have_text("Shared duty rota")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("language-en")).to_have_attribute("aria-pressed", "true")

    # Remembered on the user: another browser with a French Accept-Language gets English.
    other: Page = new_page(locale="fr-FR")
    sign_in(other, live, manager(live))
    other.goto(f"{live.url}/dashboard")
    expect(other.locator("h1")).to_have_text("Response times")
    # And in a cookie: after logging out, the login page stays in English.
    page.get_by_test_id("logout").click()
    page.wait_for_url(f"{live.url}/login")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_test_id("language-fr").click()
    page.wait_for_url(f"{live.url}/login")
    expect(page.locator("h1")).to_have_text("Connexion")
