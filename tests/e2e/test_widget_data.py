"""The visitor's data in their hands, in a real browser: the widget on a host page of another
origin links to its destination's privacy notice, downloads the conversation as JSON, asks
not to keep it, erases it after a confirmation — and the adviser's thread shows it live; the
menu on a phone; the manager's audit log shows the visitor's own export and erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.host_site import host_site
from tests.e2e.test_a11y import blocking_violations

PHONE = {"width": 390, "height": 844}


def open_chat(page: Any, url: str) -> Any:
    page.goto(url)
    widget = page.locator("[data-concierge-widget]")
    widget.get_by_test_id("widget-bubble").click()
    expect(widget.get_by_test_id("widget-panel")).to_be_visible()
    return widget


def say(widget: Any, text: str) -> None:
    widget.get_by_test_id("widget-input").fill(text)
    widget.get_by_test_id("widget-input").press("Enter")
    expect(widget.locator("[data-author=visitor]:not(.pending)").last).to_have_text(text)


def test_the_visitor_downloads_then_erases_and_the_adviser_sees_it(
    live: LiveServer, new_page: Any, tmp_path: Path
) -> None:
    adviser = new_page()
    adviser_login(adviser, live, office_login(live, "port-argent"))
    visitor = new_page(locale="en-GB")
    with host_site(
        live, title="Port-Argent lighthouse", lang="en", heading="The lighthouse"
    ) as url:
        widget = open_chat(visitor, url)
        say(widget, "My booking is REF-4242, can I come at 21:00?")
        adviser.get_by_test_id("conversation-item").first.click()
        adviser.get_by_test_id("reply-text").fill("Yes, see you at 21:00.")
        adviser.get_by_test_id("reply-text").press("Control+Enter")
        expect(widget.locator("[data-author=adviser]").last).to_contain_text("see you at 21:00")

        # The privacy line opens the notice of the widget's own destination.
        link = widget.get_by_test_id("widget-privacy").locator("a")
        expect(link).to_have_attribute("href", f"{live.url}/privacy/baie-dargent?lang=en")
        with visitor.context.expect_page() as opened:
            link.click()
        notice = opened.value
        notice.wait_for_load_state()
        expect(notice.locator("h1")).to_have_text("Privacy: what we keep when you write to us")
        expect(notice.get_by_test_id("privacy-destination")).to_have_text("Baie d'Argent")
        screenshot(notice, "privacy-notice")
        notice.close()

        toggle = widget.get_by_test_id("widget-data-toggle")
        expect(toggle).to_have_accessible_name("Your data: download or erase this conversation")
        toggle.click()
        menu = widget.get_by_test_id("widget-data-menu")
        expect(menu).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        screenshot(visitor, "widget-data-menu")
        with visitor.expect_download() as download:
            widget.get_by_test_id("widget-data-json").click()
        saved = tmp_path / "conversation.json"
        download.value.save_as(saved)
        assert download.value.suggested_filename.startswith("conversation-")
        data = json.loads(saved.read_text("utf-8"))
        assert [m["text"] for m in data["messages"]] == [
            "My booking is REF-4242, can I come at 21:00?",
            "Yes, see you at 21:00.",
        ]

        # "Do not keep": the adviser is told, live.
        widget.get_by_test_id("widget-data-forget").check()
        expect(widget.get_by_test_id("widget-status")).to_contain_text("will be erased 24 hours")
        asked = adviser.locator("[data-testid=activity][data-kind=forget_asked]")
        expect(asked).to_contain_text("Le visiteur a demandé de ne pas garder cette conversation")

        # Erasure asks first; cancelling keeps everything.
        widget.get_by_test_id("widget-data-erase").click()
        confirm = widget.get_by_test_id("widget-data-confirm")
        expect(confirm).to_be_visible()
        expect(confirm).to_contain_text("This cannot be undone.")
        expect(widget.get_by_test_id("widget-data-cancel")).to_be_focused()
        screenshot(visitor, "widget-data-confirm")
        widget.get_by_test_id("widget-data-cancel").click()
        expect(confirm).to_be_hidden()
        expect(widget.locator("[data-author=visitor]")).to_have_count(1)
        widget.get_by_test_id("widget-data-erase").click()
        widget.get_by_test_id("widget-data-confirm-yes").click()

        # The widget starts afresh; the adviser's thread says what happened.
        expect(widget.get_by_test_id("widget-data-erased")).to_have_text(
            "Your conversation has been erased."
        )
        expect(widget.locator("[data-author=visitor]")).to_have_count(0)
        expect(widget.locator("[data-author=adviser]")).to_have_count(0)
        expect(menu).to_be_hidden()
        erased = adviser.locator("[data-testid=activity][data-kind=erased_by_visitor]")
        expect(erased).to_contain_text("Effacée à la demande du visiteur")
        expect(adviser.get_by_test_id("thread")).not_to_contain_text("REF-4242")
        screenshot(adviser, "inbox-erased-by-visitor")
        screenshot(visitor, "widget-data-erased")

        # Writing again opens a new conversation.
        say(widget, "One more question")
        expect(widget.locator("[data-author=visitor]")).to_have_count(1)

    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    boss = new_page(locale="en-GB")
    adviser_login(boss, live, manager)
    boss.get_by_test_id("nav-audit").click()
    boss.wait_for_url(f"{live.url}/audit")
    rows = boss.get_by_test_id("audit-entry")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-action", "visitor_erase")
    expect(rows.nth(1)).to_have_attribute("data-action", "visitor_export")
    screenshot(boss, "audit-log")


def test_the_data_menu_fits_a_phone_and_closes_with_escape(live: LiveServer, new_page: Any) -> None:
    visitor = new_page(locale="de-DE", viewport=PHONE)
    with host_site(
        live, title="Port-Argent lighthouse", lang="en", heading="The lighthouse"
    ) as url:
        widget = open_chat(visitor, url)
        say(widget, "Ist der Leuchtturm heute Abend geöffnet?")
        toggle = widget.get_by_test_id("widget-data-toggle")
        toggle.click()
        menu = widget.get_by_test_id("widget-data-menu")
        expect(menu).to_be_in_viewport(ratio=1)
        expect(widget.get_by_test_id("widget-data-json")).to_have_text("Herunterladen (JSON)")
        expect(widget.get_by_test_id("widget-data-forget-help")).to_have_text(
            "Es wird 24 Stunden nach der Antwort gelöscht."
        )
        box = menu.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        screenshot(visitor, "widget-data-menu-phone")
        visitor.keyboard.press("Escape")
        expect(menu).to_be_hidden()
        expect(widget.get_by_test_id("widget-panel")).to_be_visible()  # only the menu closed
        expect(toggle).to_be_focused()


def test_the_manager_edits_the_notice_with_a_preview_and_reads_the_audit_log(
    live: LiveServer, new_page: Any
) -> None:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    page = new_page(locale="fr-FR", viewport=PHONE)
    adviser_login(page, live, manager)
    page.goto(f"{live.url}/privacy/edit")
    assert blocking_violations(page) == [], "/privacy/edit"
    page.get_by_test_id("privacy-text-de").fill(
        "Wir bewahren Ihre Nachrichten auf.\n\n<img src=x onerror=alert(1)> bleibt Text."
    )
    page.get_by_test_id("privacy-preview-button").click()
    preview = page.get_by_test_id("privacy-preview-de")
    expect(preview).to_contain_text("<img src=x onerror=alert(1)> bleibt Text.")
    expect(preview.locator("img")).to_have_count(0)
    screenshot(page, "privacy-edit-preview-phone")
    page.get_by_test_id("privacy-save").click()
    expect(page.get_by_test_id("privacy-saved")).to_be_visible()

    visitor = new_page(locale="de-DE", viewport=PHONE)
    visitor.goto(f"{live.url}/privacy/baie-dargent")
    expect(visitor.get_by_test_id("privacy-own")).to_contain_text(
        "Wir bewahren Ihre Nachrichten auf."
    )
    expect(visitor.get_by_test_id("privacy-own").locator("p")).to_have_count(2)
    assert blocking_violations(visitor) == [], "/privacy in German"
    screenshot(visitor, "privacy-own-text-de-phone")
    visitor.get_by_test_id("privacy-lang-it").click()
    expect(visitor.locator("h1")).to_have_text("Privacy: cosa conserviamo quando ci scrivi")

    page.goto(f"{live.url}/audit")
    expect(page.get_by_test_id("audit-empty")).to_be_visible()
    assert blocking_violations(page) == [], "/audit"
    screenshot(page, "audit-empty-phone")
