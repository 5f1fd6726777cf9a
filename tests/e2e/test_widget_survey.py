"""Satisfaction in a real browser: the widget embedded on a host page of another origin asks
after the adviser resolves, the visitor rates 4 with a comment, the adviser sees it in the
thread and the dashboard counts it; the mailed survey's page, on a phone too."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from app.surveys import SurveyLinks
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.host_site import host_site
from tests.e2e.test_a11y import blocking_violations

PHONE = {"width": 390, "height": 844}


def test_the_visitor_rates_on_a_host_page_and_the_adviser_sees_it(
    live: LiveServer, new_page: Any
) -> None:
    adviser = new_page()
    adviser_login(adviser, live, office_login(live, "port-argent"))
    visitor = new_page(locale="en-GB")
    with host_site(live, title="Hotel du Port", lang="en", heading="Hotel du Port") as url:
        visitor.goto(url)
        widget = visitor.locator("[data-concierge-widget]")
        widget.get_by_test_id("widget-bubble").click()
        widget.get_by_test_id("widget-input").fill("Is the lighthouse open tonight?")
        widget.get_by_test_id("widget-input").press("Enter")
        adviser.get_by_test_id("conversation-item").first.click()
        adviser.get_by_test_id("reply-text").fill("Yes, until 22:00.")
        adviser.get_by_test_id("reply-text").press("Control+Enter")
        expect(widget.locator("[data-author=adviser]").last).to_contain_text("until 22:00")
        adviser.get_by_test_id("toggle-status").click()  # resolve
        expect(adviser.get_by_test_id("toggle-status")).to_have_text("Rouvrir")

        survey = widget.get_by_test_id("widget-survey")
        expect(survey).to_be_visible()
        expect(survey).to_contain_text("How did we do?")
        group = survey.get_by_role("radiogroup")
        expect(group).to_have_accessible_name("How did we do? Rate this conversation.")
        expect(survey.get_by_role("radio", name="4 - Good")).to_be_attached()
        screenshot(visitor, "widget-survey")
        assert blocking_violations(visitor) == [], "the widget asking"
        visitor.set_viewport_size(PHONE)
        expect(survey).to_be_in_viewport()
        screenshot(visitor, "widget-survey-phone")
        # Sending without a rating says so, and nothing is sent.
        survey.get_by_test_id("widget-survey-send").click()
        expect(survey.get_by_test_id("widget-survey-error")).to_have_text(
            "Please choose a rating from 1 to 5."
        )
        # The keyboard: arrows move within the radio group.
        survey.get_by_role("radio", name="3 - Average").focus()
        visitor.keyboard.press("ArrowRight")
        expect(survey.get_by_role("radio", name="4 - Good")).to_be_checked()
        survey.get_by_test_id("widget-survey-comment").fill("<b>Very</b> helpful, thanks")
        survey.get_by_test_id("widget-survey-send").click()
        expect(widget.get_by_test_id("widget-survey-thanks")).to_have_text(
            "Thank you for your answer!"
        )
        expect(survey).to_have_count(0)
        # After a reload the question is not asked again.
        visitor.reload()
        widget = visitor.locator("[data-concierge-widget]")
        expect(widget.get_by_test_id("widget-panel")).to_be_visible()
        expect(widget.locator("[data-author=adviser]").last).to_contain_text("until 22:00")
        expect(widget.get_by_test_id("widget-survey")).to_have_count(0)

    line = adviser.locator("[data-testid=activity][data-kind=survey]")
    expect(line).to_contain_text("Satisfaction : 4/5")
    expect(line.get_by_test_id("survey-comment")).to_have_text("<b>Very</b> helpful, thanks")
    screenshot(adviser, "thread-survey")

    adviser.goto(f"{live.url}/dashboard?preset=today")
    section = adviser.get_by_test_id("dash-csat")
    expect(section.get_by_test_id("csat-total")).to_have_text("100\u202f%")
    expect(section.get_by_test_id("csat-comment")).to_contain_text("<b>Very</b> helpful, thanks")
    section.scroll_into_view_if_needed()
    screenshot(adviser, "dashboard-csat")


def test_the_mailed_survey_page_on_a_phone(live: LiveServer, new_page: Any) -> None:
    path = live.settings.sqlalchemy_url.split(":///", 1)[1]
    now = datetime.now(UTC)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        # A mail conversation's survey, as app.survey_send leaves it (the page is the subject).
        account, office = db.execute(
            "select id, office_id from account where key = 'mail-port-argent'"
        ).fetchone()
        db.execute(
            "insert into contact (destination_id, channel, external_id, name, handle, language, created_at) "
            "values (1, 'email', 'ana@example.org', 'Ana', 'ana@example.org', 'es', ?)",
            (f"{now:%Y-%m-%d %H:%M:%S}.000000",),
        )
        contact = db.execute("select max(id) from contact").fetchone()[0]
        stamp = f"{now:%Y-%m-%d %H:%M:%S}.000000"
        db.execute(
            "insert into conversation (destination_id, account_id, contact_id, office_id, channel,"
            " thread_key, subject, status, unread, created_at, last_message_at, preview, spam,"
            " visitor_ip, priority, reply_email, forget_after_resolved) values (1, ?, ?, ?,"
            " 'email', '<m1@example.org>', 'Plan', 'RESOLVED', 0, ?, ?, '', 0, '', 0, '', 0)",
            (account, contact, office, stamp, stamp),
        )
        conversation = db.execute("select max(id) from conversation").fetchone()[0]
        later = f"{now + timedelta(days=7):%Y-%m-%d %H:%M:%S}.000000"
        db.execute(
            "insert into survey (destination_id, conversation_id, account_id, office_id, channel,"
            " via, language, sent_at, expires_at, comment) values (1, ?, ?, ?, 'email', 'email',"
            " 'es', ?, ?, '')",
            (conversation, account, office, stamp, later),
        )
        survey_id = db.execute("select max(id) from survey").fetchone()[0]
    secret = live.settings.secret_key.get_secret_value()
    token = SurveyLinks(secret, live.settings.survey_valid_days).token(survey_id)
    page = new_page(locale="es-ES", viewport=PHONE)
    page.goto(f"{live.url}/survey/{token}?lang=es")
    expect(page.get_by_role("heading")).to_have_text("Su opinión")
    expect(page.get_by_role("radio", name="5 Excelente")).to_be_attached()
    page.get_by_test_id("survey-rating-5").click()
    page.get_by_test_id("survey-comment").fill("Muy amables")
    screenshot(page, "survey-page-phone")
    assert blocking_violations(page) == [], "the survey page"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.get_by_test_id("survey-submit").click()
    expect(page.get_by_test_id("survey-thanks")).to_contain_text("Gracias")
    page.goto(f"{live.url}/survey/{token}?lang=es")
    expect(page.get_by_test_id("survey-problem")).to_contain_text("ya ha sido respondida")
    screenshot(page, "survey-page-answered")
