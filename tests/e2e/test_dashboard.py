"""The dashboard with two weeks of demo history, in French and English, on a laptop and a phone:
no horizontal page scroll, a trend with dated axes, equal heat-map columns, and the filter form
("Show") working with "All accounts" and with an office. Screenshots under tests/e2e/artifacts/."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.conftest import OFFICE_HOURS, LiveServer
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_pages import LAPTOP, LOCALES, PHONE, assert_fits, manager, sign_in


def demo_history(live: LiveServer) -> None:
    """Fourteen days of the demo's history, past days from their rollups (as after `concierge
    demo`), today from its turns."""
    from app.db import Database
    from app.demo_history import generate
    from app.models import Destination
    from app.rollups import build_stale

    async def write() -> int:
        db = Database(live.settings.sqlalchemy_url)
        async with db.session() as session:
            written = await generate(session, 14, OFFICE_HOURS)
            destination = (await session.exec(select(Destination))).one()
        await build_stale(db, destination, OFFICE_HOURS.date())
        await db.dispose()
        return written

    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(asyncio.run(write())))
    thread.start()
    thread.join()
    assert done and done[0] > 50


def heat_widths(page: Page) -> list[float]:
    widths: list[float] = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=dash-heat] tr:nth-child(2) td')]
                  .map((td) => td.getBoundingClientRect().width)"""
    )
    return widths


def test_the_dashboard_fits_and_its_filters_work(live: LiveServer, new_page: Any) -> None:
    demo_history(live)
    for language in ("fr", "en"):
        for viewport in (LAPTOP, PHONE):
            page: Page = new_page(locale=LOCALES[language], viewport=viewport)
            sign_in(page, live, manager(live))
            response = page.goto(f"{live.url}/dashboard?preset=30")
            assert response is not None and response.status == 200
            expect(page.get_by_test_id("dash-accounts").locator("tbody tr")).not_to_have_count(0)
            expect(page.locator("[data-tile=oldest]")).not_to_have_text("…")
            assert_fits(page, f"dashboard {language} {viewport['width']}")
            # The trend has dates along x and durations along y, in the reader's language.
            x_ticks = page.get_by_test_id("trend-x-tick").all_text_contents()
            assert x_ticks and all(re.fullmatch(r"\d\d/\d\d", x) for x in x_ticks), x_ticks
            y_ticks = page.get_by_test_id("trend-y-tick").all_text_contents()
            assert len(y_ticks) >= 2 and y_ticks[0].startswith("0"), y_ticks
            expect(page.get_by_test_id("trend-duty")).to_have_attribute("points", re.compile(r"\d"))
            # Every hour of the heat map is as wide as the others.
            widths = heat_widths(page)
            assert len(widths) == 24 and max(widths) - min(widths) < 1.5, widths
            # Each column's header says what it counts.
            header = page.get_by_test_id("dash-advisers").locator("thead th[title]").first
            expect(header).to_have_attribute("title", re.compile(r"\w{10}"))
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(
                path=str(ARTIFACTS / f"dashboard-{language}-{viewport['width']}.png"),
                full_page=True,
            )

    page = new_page(locale="fr-FR", viewport=LAPTOP)
    sign_in(page, live, manager(live))
    page.goto(f"{live.url}/dashboard?preset=30")
    # An office chosen, "All accounts" left as it is: the page, filtered, never a raw error.
    office = page.get_by_test_id("dash-office")
    office.select_option(index=1)
    chosen = office.input_value()
    page.get_by_test_id("dash-apply").click()
    page.wait_for_url(re.compile(rf"office_id={chosen}"))
    assert "account_id=&" in page.url
    expect(page.get_by_test_id("dash-accounts")).to_be_visible()
    expect(page.get_by_test_id("dash-error")).to_have_count(0)
    expect(page.get_by_test_id("dash-office")).to_have_value(chosen)
    # Back to all offices and one account, then all accounts again.
    page.get_by_test_id("dash-office").select_option("")
    page.get_by_test_id("dash-account").select_option(index=1)
    page.get_by_test_id("dash-apply").click()
    page.wait_for_url(re.compile(r"account_id=\d+"))
    expect(page.get_by_test_id("dash-accounts").locator("tbody tr")).to_have_count(1)
    page.get_by_test_id("dash-account").select_option("")
    page.get_by_test_id("dash-apply").click()
    page.wait_for_url(re.compile(r"account_id=&"))
    expect(page.get_by_test_id("dash-accounts").locator("tbody tr")).not_to_have_count(1)
    # A value nobody can choose: the page again, with a message in French and the form.
    response = page.goto(f"{live.url}/dashboard?preset=30&account_id=abc")
    assert response is not None and response.status == 422
    assert "text/html" in response.headers["content-type"]
    expect(page.get_by_test_id("dash-error")).to_contain_text("Filtre illisible")
    expect(page.get_by_test_id("dash-filters")).to_be_visible()
    assert_fits(page, "dashboard error")
    response = page.goto(f"{live.url}/dashboard?channel=fax")
    assert response is not None and response.status == 422
    expect(page.get_by_test_id("dash-error")).to_contain_text("Canal inconnu")


def test_the_weekly_report_fits_a_laptop_and_a_phone(live: LiveServer, new_page: Any) -> None:
    demo_history(live)
    for language in ("fr", "en"):
        for viewport in (LAPTOP, PHONE):
            page: Page = new_page(locale=LOCALES[language], viewport=viewport)
            sign_in(page, live, manager(live))
            page.goto(f"{live.url}/dashboard")
            page.get_by_role("link", name=re.compile("hebdomadaire|Weekly", re.I)).click()
            expect(page.get_by_test_id("weekly-report")).to_be_visible()
            # The last complete week of the demo's history has figures for every office.
            offices = page.get_by_test_id("weekly-offices").locator("tbody tr[data-key]")
            expect(offices).not_to_have_count(0)
            expect(page.get_by_test_id("weekly-busiest").locator("tbody tr")).not_to_have_count(0)
            assert_fits(page, f"weekly report {language} {viewport['width']}")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(
                path=str(ARTIFACTS / f"weekly-{language}-{viewport['width']}.png"),
                full_page=True,
            )
