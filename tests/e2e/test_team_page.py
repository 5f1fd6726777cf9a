"""/team in Chromium: a manager sets a new password for an adviser who forgot theirs, from
the keyboard on a phone-sized screen; the adviser's open inbox is signed out at once."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.test_accounts_page import fits, manager_login


def test_a_manager_sets_a_forgotten_password_and_the_adviser_is_signed_out(
    live: LiveServer, new_page: Any
) -> None:
    adviser = office_login(live, "saint-clair")
    theirs = new_page(locale="en-GB")
    adviser_login(theirs, live, adviser)

    page = new_page(locale="fr-FR", viewport={"width": 390, "height": 844})
    manager_login(page, live)
    page.goto(f"{live.url}/team")
    row = page.locator(f'[data-testid=team-member][data-email="{adviser.email}"]')
    row.get_by_test_id("team-password-open").focus()
    page.keyboard.press("Enter")  # the summary opens its form
    field = row.get_by_test_id("team-password-input")
    expect(field).to_be_visible()
    field.focus()
    page.keyboard.type("un nouveau mot de passe 3")
    screenshot(page, "team-password")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("team-notice")).to_contain_text(
        "a un nouveau mot de passe : ses sessions sont fermées."
    )
    fits(page)
    # The adviser's inbox is signed out: its socket closes and the next load asks to sign in.
    theirs.reload()
    expect(theirs).to_have_url(f"{live.url}/login")
    theirs.get_by_test_id("login-email").fill(adviser.email)
    theirs.get_by_test_id("login-password").fill("un nouveau mot de passe 3")
    theirs.get_by_test_id("login-submit").click()
    theirs.wait_for_url(f"{live.url}/inbox")

    wide = new_page(locale="en-GB", viewport={"width": 1366, "height": 768})
    manager_login(wide, live)
    wide.goto(f"{live.url}/team")
    wide.get_by_test_id("team-password-open").first.click()
    expect(wide.get_by_test_id("team-password-input").first).to_be_visible()
    fits(wide)
    screenshot(wide, "team-password-wide")
