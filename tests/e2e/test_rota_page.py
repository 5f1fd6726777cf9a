"""The rota page in a real browser: it fits a laptop and a phone in French and English (week and
month, screenshots under tests/e2e/artifacts/), and a refused change keeps what was typed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.app.test_rota_pages import rich_rota, set_rota
from tests.conftest import DemoLogin, LiveServer
from tests.e2e.conftest import ARTIFACTS

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
LOCALES = {"fr": "fr-FR", "en": "en-GB"}
HEADINGS = {"fr": "lun.", "en": "Mon"}


def manager(live: LiveServer) -> DemoLogin:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


def sign_in(page: Page, live: LiveServer) -> None:
    page.set_default_timeout(20_000)
    who = manager(live)
    page.goto(f"{live.url}/login")
    page.get_by_test_id("login-email").fill(who.email)
    page.get_by_test_id("login-password").fill(who.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{live.url}/inbox")


def sticking_out(page: Page) -> dict[str, Any]:
    """The page's scroll width against the screen's, and elements past either edge (outside
    boxes that scroll on their own)."""
    found: dict[str, Any] = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const out = [];
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            let up = el.parentElement, scrolls = false;
            while (up && up !== document.body) {
              if (/(auto|scroll|hidden)/.test(getComputedStyle(up).overflowX)) { scrolls = true; break; }
              up = up.parentElement;
            }
            if (!scrolls && (box.right > width + 1 || box.left < -1)) {
              out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(box.left)}–${Math.round(box.right)}`);
            }
          }
          return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 8)};
        }"""
    )
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1366"])
def test_the_rota_fits_the_screen_without_scrolling_sideways(
    live: LiveServer, new_page: Any, language: str, viewport: dict[str, int]
) -> None:
    page: Page = new_page(locale=LOCALES[language], viewport=viewport)
    sign_in(page, live)
    size = viewport["width"]
    for view in ("week", "month"):
        page.goto(f"{live.url}/rota?view={view}")
        expect(page.get_by_test_id("rota-calendar")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", language)
        found = sticking_out(page)
        assert found["scroll"] <= found["width"] and found["out"] == [], (view, found)
        headings = page.get_by_test_id("rota-weekdays")
        today = page.locator("[data-testid=rota-day][aria-current=date]")
        expect(today).to_have_count(1)
        if size > 900:
            # Seven columns under their weekday headings, Monday first; today in view.
            expect(headings).to_be_visible()
            expect(headings.locator("li").first).to_have_text(HEADINGS[language])
            first = page.get_by_test_id("rota-day").first.bounding_box()
            monday = headings.locator("li").first.bounding_box()
            assert first is not None and monday is not None
            assert abs(first["x"] - monday["x"]) < 2
        else:
            # One day a row on a phone, each saying its weekday: no headings, no other month.
            expect(headings).to_be_hidden()
            expect(page.locator("[data-testid=rota-day][data-outside]").first).to_be_hidden()
        expect(today.get_by_test_id("rota-today")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"rota-{view}-{language}-{size}.png"), full_page=True)


def test_a_refused_override_keeps_the_input_and_a_reload_does_not_send_it_again(
    live: LiveServer, new_page: Any
) -> None:
    page: Page = new_page(locale="en-GB", viewport=LAPTOP)
    sign_in(page, live)
    page.goto(f"{live.url}/rota?view=month&start=2026-08-01")
    page.get_by_test_id("override-start").fill("2026-08-12T21:00")
    page.get_by_test_id("override-end").fill("2026-08-12T19:00")
    page.get_by_test_id("override-office").select_option("saint-clair")
    page.get_by_test_id("override-note").fill("Festival")
    page.get_by_test_id("override-add").click()
    error = page.get_by_test_id("override-end-error")
    expect(error).to_have_text("ends before it starts")
    # The list of what to correct takes the keyboard; its entry leads to the field.
    expect(page.get_by_test_id("rota-errors")).to_be_focused()
    expect(page.get_by_test_id("override-end")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("override-start")).to_have_value("2026-08-12T21:00")
    expect(page.get_by_test_id("override-office")).to_have_value("saint-clair")
    expect(page.get_by_test_id("override-note")).to_have_value("Festival")
    # Still the month of August, and the address is the page's, not the form's.
    page.wait_for_url(f"{live.url}/rota?view=month&start=2026-08-01")
    expect(page.locator('[data-testid=rota-day][data-date="2026-08-31"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "rota-refused-en-1366.png"), full_page=True)
    reloaded = page.reload()
    assert reloaded is not None and reloaded.request.method == "GET"
    expect(page.get_by_test_id("rota-errors")).to_have_count(0)

    # Corrected, it is saved and the browser is sent back to the same month (303, then GET).
    page.get_by_test_id("override-start").fill("2026-08-12T19:00")
    page.get_by_test_id("override-end").fill("2026-08-12T21:00")
    page.get_by_test_id("override-office").select_option("saint-clair")
    page.get_by_test_id("override-add").click()
    page.wait_for_url(f"{live.url}/rota?view=month&start=2026-08-01")
    day = page.locator('[data-testid=rota-day][data-date="2026-08-12"]')
    expect(day).to_contain_text("19:00–21:00")
    expect(day).to_contain_text("Saint-Clair")


def richer(data: dict[str, Any]) -> None:
    rich_rota(data)
    salines = next(o for o in data["offices"] if o["id"] == "les-salines")
    salines["timezone"] = "America/Cayenne"


@pytest.mark.parametrize(
    ("language", "viewport"), [("fr", PHONE), ("en", PHONE), ("fr", LAPTOP), ("en", LAPTOP)]
)
def test_shared_duty_other_zones_and_what_the_rota_says_fit_too(
    live: LiveServer, new_page: Any, language: str, viewport: dict[str, int]
) -> None:
    set_rota(live, richer)
    page: Page = new_page(locale=LOCALES[language], viewport=viewport)
    sign_in(page, live)
    size = viewport["width"]
    for view, start in (("week", "2026-07-20"), ("month", "2026-07-01")):
        page.goto(f"{live.url}/rota?view={view}&start={start}")
        friday = page.locator('[data-testid=rota-day][data-date="2026-07-24"]')
        expect(friday.get_by_test_id("rota-also")).to_be_visible()
        expect(page.get_by_test_id("rota-office-zone")).to_be_visible()
        if view == "month":  # Les Salines, in Cayenne, has weekend days in July
            expect(page.get_by_test_id("rota-local-time").first).to_be_visible()
        expect(page.get_by_test_id("rota-says-dates")).to_be_visible()
        found = sticking_out(page)
        assert found["scroll"] <= found["width"] and found["out"] == [], (view, found)
        page.screenshot(
            path=str(ARTIFACTS / f"rota-rich-{view}-{language}-{size}.png"), full_page=True
        )
