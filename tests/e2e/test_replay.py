"""A message announced twice — replayed after a Redis outage (app/recovery.py) when its first
announcement had partly gone out — is shown once and rings once, in a real browser: the
adviser's inbox and the visitor's widget both keep messages by id."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect

from app import recovery
from app.services import Services
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login
from tests.e2e.test_chat import open_widget, visitor_says

COUNT_CHIMES = """
window.__chimes = 0;
HTMLMediaElement.prototype.play = function () { window.__chimes += 1; return Promise.resolve(); };
"""


def message_id(live: LiveServer, text: str) -> int:
    path = live.settings.sqlalchemy_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute("select id from message where text = ?", (text,)).fetchone()
    assert row is not None
    return int(row[0])


def replay(live: LiveServer, message: int) -> None:
    """What the replay publishes for a message whose follow-up was owed, on the real Redis."""

    async def run() -> None:
        services = Services.create(live.settings)
        try:
            await recovery._replay(services, message)
        finally:
            await services.close()

    # Playwright's sync API keeps an event loop in this thread: run ours in another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)


def test_a_message_announced_twice_is_shown_once_and_rings_once(
    live: LiveServer, new_page: Any
) -> None:
    adviser = new_page()
    adviser.add_init_script(COUNT_CHIMES)
    adviser_login(adviser, live, office_login(live, "port-argent"))
    visitor = new_page(locale="en-GB")
    widget = open_widget(visitor, live)
    visitor_says(widget, "Is the lighthouse open tonight?")
    item = adviser.get_by_test_id("conversation-item").first
    expect(item).to_contain_text("Is the lighthouse open tonight?")
    for _ in range(50):  # CSP forbids wait_for_function's eval: poll
        if adviser.evaluate("() => window.__chimes") >= 1:
            break
        adviser.wait_for_timeout(100)
    adviser.wait_for_timeout(1000)  # the new chat and its assignment have both rung by now
    chimes = adviser.evaluate("() => window.__chimes")
    assert chimes >= 1

    replay(live, message_id(live, "Is the lighthouse open tonight?"))
    adviser.wait_for_timeout(1000)  # the replayed frames have arrived by now
    assert adviser.evaluate("() => window.__chimes") == chimes  # not rung again
    expect(adviser.get_by_test_id("conversation-item")).to_have_count(1)
    expect(widget.locator("[data-author=visitor]")).to_have_count(1)

    item.click()
    messages = adviser.locator("[data-testid=message]")
    expect(messages).to_have_count(1)
    adviser.get_by_test_id("reply-text").fill("Yes, until 22:00.")
    adviser.get_by_test_id("reply-text").press("Control+Enter")
    expect(widget.locator("[data-author=adviser]")).to_have_count(1)
    replay(live, message_id(live, "Yes, until 22:00."))
    adviser.wait_for_timeout(1000)
    expect(messages).to_have_count(2)  # the visitor's message and the reply, each once
    expect(widget.locator("[data-author=adviser]")).to_have_count(1)
    expect(widget.locator("[data-author=adviser]")).to_contain_text("Yes, until 22:00.")
