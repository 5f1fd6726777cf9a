"""The accounts page in a real browser, in French and English, on a laptop and a phone: the
quarantine's retry, an automatic-reply text refused then saved, nothing wider than the screen."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.e2e.conftest import screenshot
from tests.e2e.test_a11y import blocking_violations
from tests.support.connector_status import put_after_supervision

MAIL = (
    b"From: Ana Lopes <ana@example.org>\r\nTo: info@saint-clair.example\r\n"
    b"Subject: Horaires du phare\r\nMessage-ID: <phare-e2e@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nLe phare est-il ouvert dimanche ?\r\n"
)
WORDS = {
    "fr": ("le mail n'a pas pu être lu", "Variable inconnue", "enregistrées", "est entré"),
    "en": ("the mail could not be read", "Unknown placeholder", "saved", "went in"),
}

DISABLED = {"fr": "désactivé", "en": "disabled"}

# As the X connector would have said it (tests/support/connector_status.py).
STATUS = {
    "state": "rate_limited",
    "detail": "",
    "notes": [
        {"code": "x.rate_limited", "params": {"until": "19:40 UTC"}, "scope": "mentions"},
        {"code": "x.polling", "params": {"seconds": "60"}, "scope": "direct messages"},
    ],
    "last_message_at": "2026-07-21T17:14:00+00:00",
    "last_error_at": "2026-07-21T17:20:00+00:00",
    "counters": {"received": 12345, "requests_today": 1500, "send_failures": 2, "sent": 40},
}


def seed(live: LiveServer) -> None:
    path = live.settings.sqlalchemy_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "insert into quarantine (account_key, reason, raw, at, code, params) values"
            " ('mail-saint-clair', 'unparseable', ?, '2026-07-21 06:05:00.000000',"
            " 'email.unparseable', ?)",
            (MAIL, json.dumps({"uid": "4242", "error": "KeyError: 'boundary'"})),
        )
        db.execute("update account set active = 1 where key = 'x-port-argent'")


def manager_login(page: Page, live: LiveServer) -> None:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    page.goto(f"{live.url}/login")
    page.get_by_test_id("login-email").fill(manager.email)
    page.get_by_test_id("login-password").fill(manager.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{live.url}/inbox")


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("device", "width", "height"), [("laptop", 1366, 768), ("phone", 390, 844)]
)
def test_accounts_page(
    new_page: object, live: LiveServer, language: str, device: str, width: int, height: int
) -> None:
    seed(live)
    page: Page = new_page(  # type: ignore[operator]
        locale="fr-FR" if language == "fr" else "en-GB",
        viewport={"width": width, "height": height},
    )
    manager_login(page, live)
    # The X account's connector figures, written just before the page reads them
    # (tests/support/connector_status.py).
    put_after_supervision(live.settings.redis_url, 1, "x-port-argent", STATUS)
    page.goto(f"{live.url}/accounts")
    unreadable, unknown, saved, went_in = WORDS[language]
    item = page.get_by_test_id("quarantine-item")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("quarantine-reason")).to_contain_text(unreadable)
    x_row = page.locator('[data-testid=account-row][data-key="x-port-argent"]')
    expect(x_row).to_contain_text("21:40")  # 19:40 UTC, in Paris
    expect(x_row).to_contain_text("12\u202f345" if language == "fr" else "12,345")
    fits(page)
    screenshot(page, f"accounts-{device}-{language}")
    page.get_by_test_id("quarantine").scroll_into_view_if_needed()
    screenshot(page, f"accounts-{device}-{language}-quarantine")

    # An automatic-reply text with an unknown placeholder is refused, then a good one saved.
    form = page.locator('[data-testid=auto-reply][data-key="chat-saint-clair"]')
    form.locator("summary").click()
    form.get_by_test_id("auto-text-en").fill("Hello {name}")
    form.get_by_test_id("auto-save").click()
    expect(page.get_by_test_id("accounts-error")).to_contain_text(unknown)
    fixed = page.locator('[data-testid=auto-reply][data-key="chat-saint-clair"]')
    expect(fixed.get_by_test_id("auto-text-en")).to_have_value("Hello {name}")
    fixed.get_by_test_id("auto-text-en").fill("Hello! {office} will answer you {when}.")
    fixed.get_by_test_id("auto-save").click()
    expect(page.get_by_test_id("accounts-notice")).to_contain_text(saved)
    fits(page)
    screenshot(page, f"accounts-{device}-{language}-saved")
    # With a quarantined item listed and a form open: no serious accessibility violation.
    assert blocking_violations(page) == []

    # Renamed and disabled from its name-and-activity form: the table says so at once.
    manage = page.locator('[data-testid=account-manage][data-key="chat-saint-clair"]')
    manage.locator("summary").click()
    manage.get_by_test_id("account-name").fill("Chat · Saint-Clair")
    manage.get_by_test_id("account-active").uncheck()
    manage.get_by_test_id("account-save").click()
    expect(page.get_by_test_id("accounts-notice")).to_contain_text("Chat · Saint-Clair")
    row = page.locator('[data-testid=account-row][data-key="chat-saint-clair"]')
    expect(row.get_by_test_id("account-status")).to_have_text(DISABLED[language])
    expect(row).to_contain_text("Chat · Saint-Clair")
    reopened = page.locator('[data-testid=account-manage][data-key="chat-saint-clair"]')
    expect(reopened).to_have_attribute("open", "")
    expect(reopened.get_by_test_id("account-active")).not_to_be_checked()
    fits(page)
    screenshot(page, f"accounts-{device}-{language}-managed")
    assert blocking_violations(page) == []

    page.get_by_test_id("quarantine-retry").click()
    expect(page.get_by_test_id("accounts-notice")).to_contain_text(went_in)
    expect(page.get_by_test_id("quarantine-item")).to_have_count(0)
    expect(page.get_by_test_id("quarantine-empty")).to_be_visible()


ADDED = {"fr": ("widget ajouté", "Copié.", "Le compte a été supprimé."),
         "en": ("widget added", "Copied.", "The account was removed.")}  # fmt: skip


@pytest.mark.parametrize(("language", "width", "height"), [("fr", 1366, 768), ("en", 390, 844)])
def test_a_widget_added_on_the_page_shows_its_code_and_a_mistaken_one_goes(
    new_page: object, live: LiveServer, language: str, width: int, height: int
) -> None:
    page: Page = new_page(  # type: ignore[operator]
        locale="fr-FR" if language == "fr" else "en-GB",
        viewport={"width": width, "height": height},
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    manager_login(page, live)
    page.goto(f"{live.url}/accounts")
    added, copied, removed = ADDED[language]
    adding = page.get_by_test_id("add-widget-form")
    adding.get_by_test_id("add-widget-office").select_option(
        label="Office de Tourisme de Saint-Clair"
    )
    adding.get_by_test_id("add-widget-name").fill("Chat du camping")
    # A key with capitals and a space: the browser says so before anything is sent.
    adding.get_by_test_id("add-widget-key").fill("Chat Camping")
    adding.get_by_test_id("add-widget-submit").click()
    assert page.url.endswith("/accounts")
    assert adding.get_by_test_id("add-widget-key").evaluate("e => !e.validity.valid")
    adding.get_by_test_id("add-widget-key").fill("chat-camping")
    adding.scroll_into_view_if_needed()
    screenshot(page, f"accounts-add-{language}-{width}")
    adding.get_by_test_id("add-widget-submit").click()
    expect(page.get_by_test_id("accounts-notice")).to_contain_text(added)
    # Its settings open on the code to paste, which the button copies.
    panel = page.locator('[data-testid=widget-look][data-key="chat-camping"]')
    expect(panel).to_have_attribute("open", "")
    code = panel.get_by_test_id("widget-snippet-code")
    expect(code).to_have_value(
        f'<script src="{live.url}/static/widget.js" data-account="chat-camping" async></script>'
    )
    panel.get_by_test_id("widget-snippet-copy").click()
    expect(panel.locator("[data-copy-status]")).to_have_text(copied)
    assert page.evaluate("navigator.clipboard.readText()") == code.input_value()
    fits(page)
    screenshot(page, f"accounts-added-{language}-{width}")
    assert blocking_violations(page) == []

    # Disabled, then removed: the confirmation is asked for first.
    manage = page.locator('[data-testid=account-manage][data-key="chat-camping"]')
    manage.locator("summary").click()
    manage.get_by_test_id("account-active").uncheck()
    manage.get_by_test_id("account-save").click()
    manage = page.locator('[data-testid=account-manage][data-key="chat-camping"]')
    manage.get_by_test_id("account-remove-confirm").check()
    manage.scroll_into_view_if_needed()
    screenshot(page, f"accounts-remove-{language}-{width}")
    manage.get_by_test_id("account-remove").click()
    expect(page.get_by_test_id("accounts-notice")).to_have_text(removed)
    expect(page.locator('[data-testid=account-row][data-key="chat-camping"]')).to_have_count(0)
    fits(page)
