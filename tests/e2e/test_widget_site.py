"""The widget on an office's own site (another origin than the helpdesk's), in Chromium: the
look set on /accounts' API, the visitor's language and the switch, the unread badge and the
page's title, times, the greeting and privacy line after a reload, the pre-chat questions."""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import LiveServer, login, office_login
from tests.e2e.conftest import screenshot
from tests.e2e.host_site import host_site

CHAT = "chat-port-argent"
HOST_TITLE = "Port-Argent — Visiter"  # host_site's default title


def set_look(live: LiveServer, site: str, logo: bool = False, **look: Any) -> None:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        answer = client.put(f"/api/accounts/{CHAT}/widget", json={**look, "origins": site})
        assert answer.status_code == 200, answer.text
        if logo:
            out = io.BytesIO()
            Image.new("RGB", (400, 400), (240, 190, 40)).save(out, format="JPEG")
            sent = client.put(
                f"/api/accounts/{CHAT}/widget/logo",
                content=out.getvalue(),
                headers={"content-type": "image/jpeg"},
            )
            assert sent.status_code == 200, sent.text


def visit(new_page: Any, site: str, locale: str, viewport: dict[str, int] | None = None) -> Any:
    page = new_page(locale=locale, viewport=viewport)
    page.goto(site)
    widget = page.locator("[data-concierge-widget]")
    expect(widget.get_by_test_id("widget-bubble")).to_be_visible()
    return page, widget


def open_panel(widget: Any) -> None:
    widget.get_by_test_id("widget-bubble").click()
    expect(widget.get_by_test_id("widget-panel")).to_be_visible()


def says(widget: Any, text: str) -> None:
    widget.get_by_test_id("widget-input").fill(text)
    widget.get_by_test_id("widget-send").click()
    expect(widget.locator("[data-author=visitor]:not(.pending)").last).to_have_text(text)


def database(live: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(live.settings.sqlalchemy_url.split(":///", 1)[1])


def conversation_of(live: LiveServer) -> int:
    with contextlib.closing(database(live)) as db:
        row = db.execute(
            "select c.id from conversation c join account a on a.id = c.account_id"
            " where a.key = ? order by c.id desc",
            (CHAT,),
        ).fetchone()
    return int(row[0])


def adviser_replies(live: LiveServer, text: str) -> None:
    who = office_login(live, "port-argent")
    with login(live.url, who.email, who.password) as client:
        sent = client.post(
            f"/api/conversations/{conversation_of(live)}/messages", json={"text": text}
        )
        assert sent.status_code == 201, sent.text


def rgb(color: str) -> str:
    return "rgb({}, {}, {})".format(*(int(color[i : i + 2], 16) for i in (1, 3, 5)))


def test_the_look_set_for_the_site_is_applied(live: LiveServer, new_page: Any) -> None:
    with host_site(live) as site:
        set_look(
            live,
            site,
            logo=True,
            color="#7a1f1f",
            position="bottom-left",
            titles={"de": "Fragen an Port-Argent"},
            greetings={"de": "Moin! Was möchten Sie wissen?"},
        )
        page, widget = visit(new_page, site, "de-DE", {"width": 1366, "height": 768})
        bubble = widget.get_by_test_id("widget-bubble")
        expect(bubble).to_have_css("background-color", rgb("#7a1f1f"))
        expect(bubble).to_have_css("color", "rgb(255, 255, 255)")  # readable on it
        box = bubble.bounding_box()
        assert box is not None and box["x"] < 100  # bottom left
        open_panel(widget)
        expect(widget.get_by_test_id("widget-title")).to_have_text("Fragen an Port-Argent")
        expect(widget.get_by_test_id("widget-welcome")).to_have_text(
            "Moin! Was möchten Sie wissen?"
        )
        logo = widget.get_by_test_id("widget-logo")
        expect(logo).to_be_visible()
        page.wait_for_function(
            "() => document.querySelector('[data-concierge-widget]').shadowRoot"
            ".querySelector('[data-testid=widget-logo]').naturalWidth > 0"
        )
        panel = widget.get_by_test_id("widget-panel").bounding_box()
        assert panel is not None and panel["x"] < 100
        expect(widget.get_by_test_id("widget-send")).to_have_text("Senden")
        screenshot(page, "widget-site-de-1366")

        # A pale colour: the text on it turns dark, links stay readable.
        set_look(live, site, color="#ffe14d")
        page, widget = visit(new_page, site, "de-DE")
        expect(widget.get_by_test_id("widget-bubble")).to_have_css("color", rgb("#1d2430"))


@pytest.mark.parametrize(
    ("locale", "send", "welcome"),
    [
        ("nl-NL", "Versturen", "Goedendag! Hoe kunnen we u helpen?"),
        ("es-ES", "Enviar", "¡Hola! ¿En qué podemos ayudarle?"),
        ("it-IT", "Invia", "Buongiorno! Come possiamo aiutarla?"),
        ("ja-JP", "Envoyer", "Bonjour ! Comment pouvons-nous vous aider ?"),  # the default
    ],
)
def test_the_widget_speaks_the_browser_language(
    live: LiveServer, new_page: Any, locale: str, send: str, welcome: str
) -> None:
    with host_site(live) as site:
        set_look(live, site)
        _, widget = visit(new_page, site, locale)
        open_panel(widget)
        expect(widget.get_by_test_id("widget-send")).to_have_text(send)
        expect(widget.get_by_test_id("widget-welcome")).to_have_text(welcome)


def test_switch_language_badge_title_times_and_reload(live: LiveServer, new_page: Any) -> None:
    with host_site(live) as site:
        set_look(live, site)
        page, widget = visit(new_page, site, "en-GB")
        open_panel(widget)
        expect(widget.get_by_test_id("widget-send")).to_have_text("Send")
        says(widget, "Is the lighthouse open tonight?")
        # Each message shows its time, in the visitor's clock.
        mine = widget.locator("[data-author=visitor]").last
        expect(mine).to_have_attribute("data-time", re.compile(r"\d{1,2}[:.]\d{2}"))
        shown = mine.evaluate("li => getComputedStyle(li, '::after').content")
        assert re.search(r"\d{1,2}[:.]\d{2}", shown), shown

        # The visitor switches to Italian with the keyboard: every string changes, messages stay.
        menu = widget.get_by_test_id("widget-lang")
        expect(menu).to_have_attribute("aria-label", "Language")
        menu.focus()
        menu.select_option("it")
        expect(widget.get_by_test_id("widget-send")).to_have_text("Invia")
        expect(widget.get_by_test_id("widget-welcome")).to_have_text(
            "Buongiorno! Come possiamo aiutarla?"
        )
        expect(widget.get_by_test_id("widget-lang")).to_have_attribute("aria-label", "Lingua")
        expect(mine).to_have_text("Is the lighthouse open tonight?")
        expect(widget.locator("[data-author=visitor]")).to_have_count(1)

        # A reply while the panel is closed: a badge on the bubble, and in the page's title.
        widget.get_by_test_id("widget-close").click()
        adviser_replies(live, "Yes, until 22:00.")
        badge = widget.get_by_test_id("widget-unread")
        expect(badge).to_have_text("1")
        expect(badge).to_be_visible()
        expect(widget.get_by_test_id("widget-bubble")).to_have_attribute(
            "aria-label", re.compile("1 nuovo messaggio$")
        )
        expect(page).to_have_title(f"(1) {HOST_TITLE}")
        adviser_replies(live, "The last boat is at 21:30.")
        expect(badge).to_have_text("2")
        expect(page).to_have_title(f"(2) {HOST_TITLE}")
        screenshot(page, "widget-site-badge")

        # A reload keeps the language, the count, the greeting and the privacy line.
        page.reload()
        widget = page.locator("[data-concierge-widget]")
        expect(widget.get_by_test_id("widget-unread")).to_have_text("2")
        expect(page).to_have_title(f"(2) {HOST_TITLE}")
        open_panel(widget)
        expect(widget.get_by_test_id("widget-unread")).to_be_hidden()
        expect(page).to_have_title(HOST_TITLE)
        expect(widget.get_by_test_id("widget-send")).to_have_text("Invia")
        expect(widget.get_by_test_id("widget-welcome")).to_be_visible()
        first = widget.get_by_test_id("widget-messages").locator("li").first
        expect(first).to_have_attribute("data-testid", "widget-welcome")
        expect(widget.get_by_test_id("widget-privacy")).to_be_visible()
        expect(widget.get_by_test_id("widget-privacy")).to_contain_text("365")
        replies = widget.locator("[data-author=adviser]")
        expect(replies).to_have_count(2)
        expect(replies.last).to_have_attribute("data-time", re.compile(r"\d{1,2}[:.]\d{2}"))


def test_the_pre_chat_questions(live: LiveServer, new_page: Any) -> None:
    with host_site(live) as site:
        set_look(live, site, ask="both", ask_required=True)
        page, widget = visit(new_page, site, "es-ES", {"width": 390, "height": 844})
        open_panel(widget)
        form = widget.get_by_test_id("widget-prechat")
        expect(form).to_be_visible()
        expect(form).to_contain_text("Su nombre")
        widget.get_by_test_id("widget-input").fill("¿Hay visitas guiadas al faro?")
        widget.get_by_test_id("widget-send").click()
        problem = widget.get_by_test_id("widget-prechat-error")
        expect(problem).to_have_text("Escriba su nombre, por favor.")
        expect(widget.locator("[data-author=visitor]")).to_have_count(0)  # held back
        widget.get_by_test_id("widget-prechat-name").fill("Ana María")
        for wrong in ("ana.example.com", "ana@example", "ana @example.com"):
            widget.get_by_test_id("widget-prechat-email").fill(wrong)
            widget.get_by_test_id("widget-send").click()
            expect(problem).to_have_text(
                "Esta dirección de correo no parece correcta. Compruébela, por favor."
            )
        expect(widget.get_by_test_id("widget-prechat-email")).to_have_attribute(
            "aria-invalid", "true"
        )
        screenshot(page, "widget-site-prechat-es-390")
        widget.get_by_test_id("widget-prechat-email").fill("ana@example.org")
        widget.get_by_test_id("widget-send").click()
        expect(widget.locator("[data-author=visitor]:not(.pending)")).to_have_text(
            "¿Hay visitas guiadas al faro?"
        )
        expect(form).to_be_hidden()
        conversation = conversation_of(live)
        with contextlib.closing(database(live)) as db:
            name = db.execute(
                "select ct.name from conversation c join contact ct on ct.id = c.contact_id"
                " where c.id = ?",
                (conversation,),
            ).fetchone()[0]
        assert name == "Ana María"  # the adviser sees the name on the new conversation
        # The address is left once the first message is acknowledged (POST
        # /api/visitor/contact): on the contact, and as the reply address where a mailbox sends.
        address = ""
        for _ in range(50):
            with contextlib.closing(database(live)) as db:
                address = db.execute(
                    "select ct.email from conversation c join contact ct on ct.id = c.contact_id"
                    " where c.id = ?",
                    (conversation,),
                ).fetchone()[0]
            if address:
                break
            page.wait_for_timeout(100)
        assert address == "ana@example.org"
        page.reload()
        widget = page.locator("[data-concierge-widget]")
        expect(widget.get_by_test_id("widget-panel")).to_be_visible()
        expect(widget.get_by_test_id("widget-prechat")).to_be_hidden()  # asked once


@pytest.mark.parametrize("locale", ["fr-FR", "de-DE"])
def test_on_a_phone_the_panel_takes_the_screen(
    live: LiveServer, new_page: Any, locale: str
) -> None:
    with host_site(live) as site:
        set_look(live, site, logo=True, color="#1d4ed8", position="bottom-left")
        page, widget = visit(new_page, site, locale, {"width": 390, "height": 844})
        open_panel(widget)
        panel = widget.get_by_test_id("widget-panel").bounding_box()
        assert panel is not None
        assert panel["x"] == 0 and panel["width"] == 390 and panel["height"] >= 800
        for control in ("widget-lang", "widget-close", "widget-send", "widget-input"):
            expect(widget.get_by_test_id(control)).to_be_in_viewport()
        close = widget.get_by_test_id("widget-close").bounding_box()
        assert close is not None and close["width"] >= 32 and close["height"] >= 32
        screenshot(page, f"widget-site-phone-{locale}")
        page.set_viewport_size({"width": 1366, "height": 768})
        screenshot(page, f"widget-site-desktop-{locale}")


def test_a_manager_sets_the_widget_on_the_accounts_page(
    live: LiveServer, new_page: Any, tmp_path: Any
) -> None:
    from tests.e2e.conftest import adviser_login

    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    page = new_page(locale="en-GB", viewport={"width": 1366, "height": 900})
    adviser_login(page, live, manager)
    page.goto(f"{live.url}/accounts")
    section = page.locator(f"[data-testid=widget-look][data-key={CHAT}]")
    section.locator("summary").click()
    form = section.get_by_test_id("widget-look-form")
    form.get_by_test_id("widget-look-color").fill("teal")
    form.get_by_test_id("widget-look-save").click()
    # The browser holds a colour that is no #rrggbb back (the server refuses it too: unit tests).
    assert form.get_by_test_id("widget-look-color").evaluate("e => e.validity.patternMismatch")
    expect(page.get_by_test_id("widget-look-saved")).to_have_count(0)
    form.get_by_test_id("widget-look-color").fill("#1d4ed8")
    form.get_by_test_id("widget-look-left").check()
    form.get_by_test_id("widget-look-title-nl").fill("Vragen over Port-Argent?")
    logo = tmp_path / "logo.png"
    Image.new("RGB", (300, 300), (20, 120, 60)).save(logo, format="PNG")
    form.get_by_test_id("widget-look-logo").set_input_files(str(logo))
    form.get_by_test_id("widget-look-save").click()
    expect(page.get_by_test_id("widget-look-saved")).to_be_visible()
    section = page.locator(f"[data-testid=widget-look][data-key={CHAT}]")
    expect(section.get_by_test_id("widget-look-logo-current")).to_be_visible()
    screenshot(page, "widget-site-accounts-form")
    with host_site(live) as site:
        _, widget = visit(new_page, site, "nl-BE")
        expect(widget.get_by_test_id("widget-bubble")).to_have_css(
            "background-color", rgb("#1d4ed8")
        )
        open_panel(widget)
        expect(widget.get_by_test_id("widget-title")).to_have_text("Vragen over Port-Argent?")
        expect(widget.get_by_test_id("widget-logo")).to_be_visible()
