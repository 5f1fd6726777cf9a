"""An evening shift in the inbox: drafts, alerts, notes and mentions, colleagues, bulk triage,
the keyboard, typing indicators and the accessibility scan — in a real Chromium."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import APIResponse, Page, Route, WebSocketRoute, expect

from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.seeding import chat, many_chats
from tests.e2e.test_chat import open_widget, visitor_says

pytestmark = pytest.mark.e2e

# Browser APIs the test watches: sounds played, notifications shown, the page hidden at will.
HOOKS = """
window.__sounds = 0;
window.__notes = [];
window.__hidden = false;
HTMLMediaElement.prototype.play = function () { window.__sounds += 1; return Promise.resolve(); };
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notes.push({ title, body: (options || {}).body }); }
  close() {}
};
Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
Object.defineProperty(document, "hidden", { get: () => window.__hidden });
"""


def wait_until(page: Page, script: str, timeout: float = 10.0) -> None:
    """Polls a script in the page (the pages' CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        page.wait_for_timeout(100)


def item_of(page: Page, text: str) -> Any:
    return page.get_by_test_id("conversation-item").filter(has_text=text)


def assign_to_me(page: Page) -> None:
    """Through the assign dialog: the signed-in adviser takes the open conversation."""
    page.get_by_test_id("assign").click()
    dialog = page.get_by_test_id("assign-dialog")
    expect(dialog).to_be_visible()
    mine = dialog.locator("option", has_text="(moi)").get_attribute("value")
    page.get_by_test_id("assign-user").select_option(mine)
    page.get_by_test_id("assign-confirm").click()
    expect(dialog).to_be_hidden()


def test_a_draft_stays_with_its_conversation_across_reloads(
    live: LiveServer, new_page: Any
) -> None:
    chat(live, "First visitor: parking near the beach?")
    chat(live, "Second visitor: bike rental?")
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    first_id = item_of(page, "First visitor").get_attribute("data-id")
    first = page.locator(f"[data-testid=conversation-item][data-id='{first_id}']")
    second = item_of(page, "Second visitor")
    reply = page.get_by_test_id("reply-text")

    first.click()
    reply.fill("Le parking du Port est gratuit le soir.")
    second.click()
    expect(reply).to_have_value("")  # never the other visitor's draft
    page.get_by_test_id("mode-note").click()  # the note mode belongs to this conversation
    reply.fill("Vérifier les horaires du loueur")
    first.click()
    expect(reply).to_have_value("Le parking du Port est gratuit le soir.")
    expect(page.get_by_test_id("mode-reply")).to_have_attribute("aria-selected", "true")

    page.reload()
    page.locator("[data-testid=live-status][data-state=live]").wait_for()
    item_of(page, "Second visitor").click()
    expect(reply).to_have_value("Vérifier les horaires du loueur")
    expect(page.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
    item_of(page, "First visitor").click()
    expect(reply).to_have_value("Le parking du Port est gratuit le soir.")
    reply.press("Control+Enter")
    expect(page.locator("[data-testid=message][data-direction=out]")).to_have_count(1)
    expect(reply).to_have_value("")
    page.reload()  # sent: the draft is gone for good
    page.locator("[data-testid=live-status][data-state=live]").wait_for()
    first.click()
    expect(page.get_by_test_id("messages")).to_contain_text("gratuit le soir")
    expect(reply).to_have_value("")

    # Signing out on a shared computer leaves no draft behind.
    reply.fill("Brouillon qui cite le visiteur")
    page.get_by_test_id("logout").click()
    page.wait_for_url(f"{live.url}/login")
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.includes('draft'))") == []


def test_a_new_message_with_the_page_hidden_rings_and_notifies(
    live: LiveServer, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(HOOKS)
    adviser_login(page, live, office_login(live, "port-argent"))
    page.evaluate("window.__hidden = true")
    chat(live, "Is the lighthouse open tonight?")
    wait_until(page, "() => window.__sounds >= 1 && window.__notes.length >= 1")
    note = page.evaluate("window.__notes[0]")
    assert "Is the lighthouse open tonight?" in note["body"]
    expect(page).to_have_title("(1) Boîte de réception · Concierge")

    # The sound can be turned off, and stays off after a reload.
    page.evaluate("window.__hidden = false")
    page.get_by_test_id("sound-toggle").click()
    expect(page.get_by_test_id("sound-toggle")).to_have_attribute("aria-pressed", "false")
    page.reload()
    page.locator("[data-testid=live-status][data-state=live]").wait_for()
    expect(page.get_by_test_id("sound-toggle")).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.__hidden = true")
    chat(live, "And the museum?")
    wait_until(page, "() => window.__notes.length >= 1")
    assert page.evaluate("window.__sounds") == 0


def test_notes_mentions_and_the_activity_line(live: LiveServer, new_page: Any) -> None:
    chat(live, "Can I bring my dog on the ferry?")
    camille, other = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    colleague = new_page()
    colleague.add_init_script(HOOKS)
    adviser_login(colleague, live, other)
    colleague.evaluate("window.__hidden = true")  # their tab is in the background
    page = new_page()
    adviser_login(page, live, camille)
    item_of(page, "dog on the ferry").click()
    assign_to_me(page)
    me = page.get_by_test_id("me").inner_text().split(" : ")[-1].split(" · ")[0]
    expect(page.get_by_test_id("thread-meta")).to_contain_text(f"Attribuée à {me}")

    page.keyboard.press("Escape")
    page.get_by_test_id("reply-text").click()
    page.keyboard.press("n")  # typed in the box: no shortcut
    page.get_by_test_id("reply-text").fill("")
    page.get_by_test_id("mode-note").click()
    reply = page.get_by_test_id("reply-text")
    reply.press_sequentially("Demander à @")
    option = page.get_by_test_id("mention-option").first
    expect(option).to_be_visible()
    name = option.inner_text().split(" · ")[0]
    reply.press("Enter")
    reply.press_sequentially("pour les chiens")
    expect(reply).to_have_value(f"Demander à @{name} pour les chiens")
    reply.press("Control+Enter")
    note = page.locator("[data-testid=message][data-direction=note]")
    expect(note).to_contain_text("pour les chiens")
    expect(note).to_contain_text("Note interne")

    # The colleague is alerted; the visitor never sees the note.
    wait_until(colleague, "() => window.__notes.some((n) => n.title.includes('mentionné'))")
    page.get_by_test_id("toggle-status").click()  # resolve
    activity = page.get_by_test_id("activity")
    expect(activity.filter(has_text=f"{me} a pris la conversation")).to_have_count(1)
    expect(activity.filter(has_text="l'a résolue")).to_have_count(1)
    expect(activity.filter(has_text="a mentionné")).to_have_count(1)
    screenshot(page, "inbox-note-activity")


def test_answering_in_a_colleagues_conversation_asks_first(live: LiveServer, new_page: Any) -> None:
    chat(live, "Where can I park a camper van?")
    first, second = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    owner = new_page()
    adviser_login(owner, live, first)
    item_of(owner, "camper van").click()
    assign_to_me(owner)

    page = new_page()
    adviser_login(page, live, second)
    item_of(page, "camper van").click()
    # Each sees the other on the conversation.
    expect(page.get_by_test_id("viewers")).to_be_visible()
    expect(owner.get_by_test_id("viewers")).to_be_visible()
    page.get_by_test_id("reply-text").fill("Aire de camping-cars route du Phare.")
    owner_typing = owner.get_by_test_id("typing")
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("confirm-bar")).to_be_visible()
    expect(page.locator("[data-testid=message][data-direction=out]")).to_have_count(0)
    expect(owner_typing).to_contain_text("écrit une réponse")
    page.get_by_test_id("confirm-send").click()
    expect(page.locator("[data-testid=message][data-direction=out]")).to_have_count(1)
    expect(owner.locator("[data-testid=message][data-direction=out]")).to_have_count(1)


def test_the_visitor_typing_is_shown_to_the_adviser(live: LiveServer, new_page: Any) -> None:
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    visitor = new_page(locale="en-GB")
    widget = open_widget(visitor, live)
    visitor_says(widget, "Hello!")
    item_of(page, "Hello!").click()
    widget.get_by_test_id("widget-input").press_sequentially("Is the ", delay=30)
    expect(page.get_by_test_id("typing")).to_contain_text("écrit")


def test_a_reply_sent_while_its_thread_loads_stays_in_view(live: LiveServer, new_page: Any) -> None:
    """The thread is read from the server while the adviser already answers (a slow network, a
    loaded server): the reply must not vanish when the thread, read before it, is drawn."""
    chat(live, "Visitor: is there a ferry tonight?")
    page = new_page(locale="en-GB")
    adviser_login(page, live, office_login(live, "port-argent"))
    held: list[tuple[Route, APIResponse]] = []
    thread = re.compile(r"/api/conversations/\d+$")
    released = False

    def hold(route: Route) -> None:
        # The thread's first read is made now, and handed to the page only once released below;
        # any later read goes through.
        if released or held:
            route.continue_()
        else:
            held.append((route, route.fetch()))

    page.route(thread, hold)
    item_of(page, "ferry tonight").click()
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the thread was not read"
    reply = page.get_by_test_id("reply-text")
    reply.fill("Yes, at 19:30 from the harbour.")
    reply.press("Control+Enter")
    sent = page.locator("[data-testid=message][data-direction=out]")
    expect(sent).to_have_count(1)
    expect(sent.locator(".meta")).to_contain_text("Sent")  # delivered before the thread is drawn
    released = True
    for route, response in held:
        route.fulfill(response=response)
    expect(page.locator("[data-testid=message][data-direction=in]")).to_have_count(1)
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("Yes, at 19:30 from the harbour.")
    # Its delivery, heard while the thread was read, is not drawn over by the older thread.
    expect(sent.locator(".meta")).to_contain_text("Sent")


def test_a_reply_s_delivery_is_drawn_from_its_event_without_reading_the_thread_again(
    live: LiveServer, new_page: Any
) -> None:
    """A reply shows "Sending…" then "Sent": the status event says it all; the thread is not read
    again from the server for it (each reply used to cost every adviser viewing the
    conversation a read of the whole thread)."""
    chat(live, "Visitor: where do the ferries leave from?")
    page = new_page(locale="en-GB")
    adviser_login(page, live, office_login(live, "port-argent"))
    item_of(page, "ferries leave").click()
    expect(page.locator("[data-testid=message][data-direction=in]")).to_have_count(1)
    reads: list[str] = []
    thread = re.compile(r"/api/conversations/\d+$")
    page.on("request", lambda r: reads.append(r.url) if thread.search(r.url) else None)
    reply = page.get_by_test_id("reply-text")
    reply.fill("From the harbour, quay 2.")
    reply.press("Control+Enter")
    sent = page.locator("[data-testid=message][data-direction=out]")
    expect(sent.locator(".meta")).to_contain_text("Sent")
    page.wait_for_timeout(300)  # a read it would have started on the event
    assert reads == []


def test_a_reply_sent_again_is_drawn_from_its_events_without_reading_the_thread_again(
    live: LiveServer, new_page: Any
) -> None:
    """A reply that was not sent offers "Send again"; once clicked, its events say "Sending…"
    then "Sent" — the thread is not read again (a read answered after the "sent" event could
    draw "Sending…" back over it)."""
    chat(live, "Visitor: is the lighthouse open on Sundays?")
    page = new_page(locale="en-GB")
    adviser_login(page, live, office_login(live, "port-argent"))
    item_of(page, "lighthouse open").click()
    reply = page.get_by_test_id("reply-text")
    reply.fill("Yes, 10:00 to 18:00.")
    reply.press("Control+Enter")
    sent = page.locator("[data-testid=message][data-direction=out]")
    expect(sent.locator(".meta")).to_contain_text("Sent")
    path = live.settings.database_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # as a connector that failed
        changed = db.execute(
            "UPDATE message SET delivery_status = 'FAILED', delivery_code = 'no_connector',"
            " delivery_error = 'no connector' WHERE text = 'Yes, 10:00 to 18:00.'"
        ).rowcount
    assert changed == 1
    page.reload()
    item_of(page, "10:00 to 18:00").click()  # the list shows the last message
    again = page.get_by_test_id("retry")
    expect(again).to_have_text("Send again")
    reads: list[str] = []
    thread = re.compile(r"/api/conversations/\d+$")
    page.on("request", lambda r: reads.append(r.url) if thread.search(r.url) else None)
    again.click()
    expect(sent.locator(".meta")).to_contain_text("Sent")
    expect(page.get_by_test_id("retry")).to_have_count(0)
    page.wait_for_timeout(300)  # a read it would have started after the answer
    assert reads == []


def test_keyboard_only_triage_and_bulk_resolve(live: LiveServer, new_page: Any) -> None:
    many_chats(live, 6)
    page = new_page(locale="en-GB")
    adviser_login(page, live, office_login(live, "port-argent"))
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(6)
    rows = page.get_by_test_id("conversation-open")
    # Tab reaches the list (one row is always in the tab order) past the label filter, J opens
    # the first.
    page.get_by_test_id("filter-all").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("label-filter")).to_be_focused()
    page.keyboard.press("Tab")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_attribute("aria-current", "true")  # announced as current
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    expect(rows.nth(1)).to_be_focused()
    expect(rows.nth(0)).not_to_have_attribute("aria-current", "true")
    page.keyboard.press("x")
    page.keyboard.press("k")
    page.keyboard.press("x")
    expect(page.get_by_test_id("bulk-count")).to_have_text("2 selected")
    page.keyboard.press("r")
    expect(page.get_by_test_id("reply-text")).to_be_focused()
    page.keyboard.type("On our way!")
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-testid=message][data-direction=out]")).to_have_count(1)
    page.keyboard.press("Escape")
    page.get_by_test_id("bulk-resolve").click()
    expect(page.get_by_test_id("list-notice")).to_have_text("2 done, 0 skipped")
    expect(items).to_have_count(4)
    expect(page.get_by_test_id("count-resolved")).to_have_text("2")


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [("fr-FR", {"width": 1366, "height": 768}), ("en-GB", {"width": 390, "height": 844})],
)
def test_the_inbox_passes_an_accessibility_scan(
    live: LiveServer, new_page: Any, locale: str, viewport: dict[str, int]
) -> None:
    many_chats(live, 3)
    page = new_page(locale=locale, viewport=viewport)
    adviser_login(page, live, office_login(live, "port-argent"))
    page.get_by_test_id("conversation-item").first.click()
    expect(page.get_by_test_id("message").first).to_be_visible()
    results = Axe().run(page)
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious


def test_the_transfer_dialog_says_who_is_on_duty_and_online(
    live: LiveServer, new_page: Any
) -> None:
    chat(live, "Ferry to the islands tomorrow?")
    page = new_page()
    adviser_login(page, live, office_login(live, "port-argent"))
    item_of(page, "islands").click()
    page.get_by_test_id("transfer").click()
    rows = page.get_by_test_id("transfer-office-row")
    expect(rows).to_have_count(3)
    # 10:00 on a Tuesday: every office is open in its own hours; only this adviser is online.
    own = rows.filter(has_text="Port-Argent")
    expect(own).to_have_attribute("data-on-duty", "true")
    expect(own).to_contain_text("1 en ligne")
    expect(rows.filter(has_text="Saint-Clair")).to_contain_text("0 en ligne")
    screenshot(page, "inbox-transfer-dialog")
    page.get_by_test_id("transfer-cancel").click()
    expect(page.get_by_test_id("transfer-dialog")).to_be_hidden()


def test_a_reply_pressed_twice_or_sent_again_after_a_lost_answer_is_sent_once(
    live: LiveServer, new_page: Any
) -> None:
    """A reply goes over the inbox's socket. Ctrl+Enter pressed again while it is on its way
    sends nothing more; a reply stored but whose answer was lost (the socket dropped just
    then) is sent again over HTTP with the same client id, and is the stored one: the visitor
    gets each reply once."""
    chat(live, "Visitor: can I bring my dog on the ferry?")
    page = new_page(locale="en-GB")
    frames: list[dict[str, Any]] = []  # reply frames the page sent
    held: list[str] = []
    mode = {"hold": True, "lose": False}
    servers: list[WebSocketRoute] = []

    def on_socket(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        servers.append(server)

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "reply":
                frames.append(frame)
                if mode["hold"]:
                    held.append(str(message))
                    return
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if mode["lose"] and json.loads(message).get("type") == "reply.stored":
                mode["lose"] = False
                route.close(code=1011, reason="dropped")  # stored, but the page never hears it
                return
            route.send(message)

        route.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/adviser"), on_socket)
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data_json["client_id"])
            if r.method == "POST" and re.search(r"/api/conversations/\d+/messages$", r.url)
            else None
        ),
    )
    adviser_login(page, live, office_login(live, "port-argent"))
    item_of(page, "bring my dog").click()
    reply = page.get_by_test_id("reply-text")
    reply.fill("Yes, on a lead.")
    for _ in range(3):
        reply.press("Control+Enter")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)  # time for a second frame or request, were one sent
    assert len(frames) == 1 and posts == []
    mode["hold"] = False
    servers[-1].send(held[0])  # on its way at last
    sent = page.locator("[data-testid=message][data-direction=out]")
    expect(sent).to_have_count(1)
    expect(reply).to_have_value("")

    mode["lose"] = True
    reply.fill("Muzzled, please.")
    reply.press("Control+Enter")
    expect(reply).to_have_value("")  # sent again over HTTP once the socket dropped
    assert [f["text"] for f in frames] == ["Yes, on a lead.", "Muzzled, please."]
    assert posts == [frames[1]["client_id"]]  # the same client id
    expect(sent).to_have_count(2)
    page.reload()
    item_of(page, "Muzzled").click()
    expect(sent).to_have_text([re.compile("Yes, on a lead."), re.compile("Muzzled, please.")])
    path = live.settings.database_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db:
        stored = db.execute(
            "SELECT text FROM message WHERE direction = 'OUT' ORDER BY id"
        ).fetchall()
    assert [text for (text,) in stored] == ["Yes, on a lead.", "Muzzled, please."]
