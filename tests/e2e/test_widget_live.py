"""The visitor's widget, live: their place in the queue and the adviser typing, in Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect
from redis import Redis as SyncRedis

from app import keys
from app.events import Typing, event_adapter
from tests.app.test_store_slots import HeldSlot
from tests.conftest import OFFICE_HOURS, LiveServer, office_login, run_apart
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.test_chat import open_widget, visitor_says


def recent_first_answers(live: LiveServer, seconds: list[float]) -> None:
    """Port-Argent answered chats first in ``seconds`` of duty time, earlier today."""
    from sqlmodel import select

    from app.db import Database
    from app.models import Account, Conversation, ResponseTurn

    async def write() -> None:
        db = Database(live.settings.sqlalchemy_url)
        async with db.session() as session:
            account = (
                await session.exec(select(Account).where(Account.key == "chat-port-argent"))
            ).one()
            conversation = (await session.exec(select(Conversation))).first()
            assert conversation is not None and conversation.id is not None
            for n, wait in enumerate(seconds):
                started = OFFICE_HOURS - timedelta(hours=1, minutes=n)
                session.add(
                    ResponseTurn(
                        conversation_id=conversation.id,
                        account_id=account.id or 0,
                        channel="webchat",
                        office_on_duty_id=account.office_id,
                        first=True,
                        started_at=started,
                        answered_at=started + timedelta(seconds=wait),
                        wall_seconds=wait,
                        duty_seconds=wait,
                    )
                )
            await session.commit()
        await db.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(write()))
    thread.start()
    thread.join()


def test_a_waiting_visitor_sees_their_place_then_the_adviser_typing(
    live: LiveServer, new_page: Any
) -> None:
    first_page = new_page(locale="en-GB")
    first = open_widget(first_page, live)
    expect(first.get_by_test_id("widget-queue")).to_be_empty()  # nothing asked, nothing waits
    visitor_says(first, "Is the ferry running tonight?")
    expect(first.get_by_test_id("widget-queue")).to_have_text("You are next in the queue.")

    recent_first_answers(live, [240.0, 300.0, 330.0])
    second_page = new_page(locale="fr-FR", viewport={"width": 390, "height": 844})
    second = open_widget(second_page, live)
    visitor_says(second, "Peut-on louer un vélo ce soir ?")
    queue = second.get_by_test_id("widget-queue")
    expect(queue).to_have_text(
        "Vous êtes n°\u00a02 dans la file d'attente. Attente estimée\u00a0: environ 5 minutes."
    )
    expect(queue).to_have_attribute("role", "status")  # read out politely
    expect(queue).to_be_in_viewport()
    screenshot(second_page, "widget-queue")

    # Camille comes online: both are assigned, and both widgets drop the queue notice.
    adviser_page = new_page(locale="en-GB")
    adviser_login(adviser_page, live, office_login(live, "port-argent"))
    expect(queue).to_be_empty()
    expect(first.get_by_test_id("widget-queue")).to_be_empty()

    # She types an answer to the second visitor: only that visitor sees it.
    adviser_page.get_by_test_id("conversation-item").filter(has_text="louer un vélo").click()
    adviser_page.get_by_test_id("reply-text").press_sequentially("Oui, jusqu'à", delay=60)
    typing = second.get_by_test_id("widget-typing")
    expect(typing).to_have_text("Camille Martin est en train d'écrire…")
    expect(typing).to_have_attribute("role", "status")
    expect(typing).to_be_in_viewport()
    screenshot(second_page, "widget-typing")
    expect(first.get_by_test_id("widget-typing")).to_be_empty()
    adviser_page.get_by_test_id("reply-text").press_sequentially(" 22 h.", delay=30)
    adviser_page.get_by_test_id("reply-text").press("Control+Enter")
    expect(second.locator("[data-author=adviser]").last).to_contain_text("Oui, jusqu'à 22 h.")
    expect(typing).to_be_empty()

    # And the other way: the visitor types, the adviser sees it, with nothing stored.
    second.get_by_test_id("widget-input").press_sequentially("Merci, et le", delay=60)
    expect(adviser_page.get_by_test_id("typing")).to_have_text(re.compile(r"typing…$"))
    expect(adviser_page.get_by_test_id("typing")).to_be_empty(timeout=12_000)  # 5 s idle
    expect(adviser_page.locator("[data-testid=message][data-direction=in]")).to_have_count(1)


def test_the_typing_notice_goes_after_six_seconds_without_news(
    live: LiveServer, new_page: Any
) -> None:
    visitor_page = new_page(locale="en-GB")
    widget = open_widget(visitor_page, live)
    visitor_says(widget, "Where can I park?")
    path = live.settings.sqlalchemy_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT id, office_id, thread_key FROM conversation").fetchone()
    conversation_id, office_id, thread_key = row
    # An adviser's page says "typing" once, then goes silent (its tab froze, its network
    # dropped): the notice must not stay forever.
    signal = Typing(
        conversation_id=conversation_id,
        office_id=office_id,
        visitor_key=f"chat-port-argent:{thread_key}",
        side="adviser",
        user_id=1,
        name="Camille Martin",
    )
    redis = SyncRedis.from_url(live.settings.redis_url)
    try:
        assert redis.publish(keys.signals(1), event_adapter.dump_json(signal)) >= 1
    finally:
        redis.close()
    typing = widget.get_by_test_id("widget-typing")
    expect(typing).to_have_text("Camille Martin is typing…")
    visitor_page.wait_for_timeout(4000)
    expect(typing).to_have_text("Camille Martin is typing…", timeout=100)
    expect(typing).to_be_empty(timeout=3_000)


def worker_behind(live: LiveServer, first: Any) -> HeldSlot:
    """The worker's only store slot taken, and the ``first`` widget's message waiting behind it
    longer than the worker allows (0.3 s): the next message of anyone is refused "busy"."""
    held = HeldSlot(live)
    first.get_by_test_id("widget-input").fill("Is the ferry running tonight?")
    first.get_by_test_id("widget-input").press("Enter")
    expect(first.locator("[data-author=visitor].pending")).to_have_count(1)
    time.sleep(0.5)
    return held


def test_a_busy_worker_keeps_the_message_and_the_widget_sends_it_again(
    make_server: Callable[..., LiveServer], new_page: Any
) -> None:
    """The worker's only store slot is taken and one visitor's message waits behind it: the
    next visitor's message is refused with "busy". Their widget says so, keeps the message
    marked as not sent, and sends it again after the time it was given: once stored, it is
    marked sent and the notice goes."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=0.3)
    first = open_widget(new_page(locale="en-GB"), live)
    second_page = new_page(locale="fr-FR", viewport={"width": 390, "height": 844})
    second = open_widget(second_page, live)
    expect(second.get_by_test_id("widget-status")).to_be_empty()  # connected
    held = worker_behind(live, first)

    second.get_by_test_id("widget-input").fill("Le phare est-il ouvert ce soir ?")
    second.get_by_test_id("widget-input").press("Enter")
    status = second.get_by_test_id("widget-status")
    expect(status).to_have_text(
        "Beaucoup de visiteurs écrivent en ce moment : votre message sera envoyé dans quelques"
        " secondes."
    )
    mine = second.locator("[data-author=visitor]")
    expect(mine).to_have_text(["Le phare est-il ouvert ce soir ?"])
    expect(mine.first).to_have_class(re.compile(r"\bpending\b"))
    screenshot(second_page, "widget-busy")

    held.release()
    expect(first.locator("[data-author=visitor]:not(.pending)")).to_have_count(1)
    expect(second.locator("[data-author=visitor]:not(.pending)")).to_have_count(1, timeout=10_000)
    expect(status).to_be_empty()
    assert live.services().store_slots.refused >= 1  # type: ignore[attr-defined]


def test_a_message_written_while_another_waits_to_be_sent_again_goes_after_it(
    make_server: Callable[..., LiveServer], new_page: Any
) -> None:
    """A visitor's message is refused "busy"; the worker catches up at once, and the visitor
    writes a second one before the first's time has come. The widget holds the second (marked
    not sent) and sends both together, the first first: the conversation has them in the order
    written, as it shows after a reload."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=0.3)
    first = open_widget(new_page(locale="en-GB"), live)
    page = new_page(locale="en-GB", viewport={"width": 390, "height": 844})
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    widget = open_widget(page, live)
    expect(widget.get_by_test_id("widget-status")).to_be_empty()  # connected
    held = worker_behind(live, first)

    box = widget.get_by_test_id("widget-input")
    box.fill("Is the lighthouse open?")
    box.press("Enter")
    expect(widget.get_by_test_id("widget-status")).not_to_be_empty()  # refused: "busy"
    held.release()  # caught up: a message sent now would be stored at once
    expect(first.locator("[data-author=visitor]:not(.pending)")).to_have_count(1)
    box.fill("And until what time?")
    box.press("Enter")
    mine = widget.locator("[data-author=visitor]")
    expect(mine).to_have_text(["Is the lighthouse open?", "And until what time?"])
    expect(mine.nth(1)).to_have_class(re.compile(r"\bpending\b"))
    expect(widget.locator("[data-author=visitor]:not(.pending)")).to_have_count(2, timeout=10_000)

    texts = [frame["text"] for frame in map(json.loads, sent) if frame.get("type") == "message"]
    # The second went out only once the first was sent again, after it, never before.
    assert texts == ["Is the lighthouse open?", "Is the lighthouse open?", "And until what time?"]
    page.reload()
    widget = page.locator("[data-concierge-widget]")
    expect(widget.locator("[data-author=visitor]")).to_have_text(
        ["Is the lighthouse open?", "And until what time?"]
    )


def test_a_widget_disabled_while_open_says_the_chat_is_closed(
    live: LiveServer, new_page: Any
) -> None:
    """``concierge account disable`` while a visitor chats: within seconds their widget says,
    in their language, that the chat is closed, and does not try to reconnect."""
    from app import destinations
    from app.db import Database

    page = new_page(locale="fr-FR", viewport={"width": 390, "height": 844})
    widget = open_widget(page, live)
    visitor_says(widget, "Le marché est-il ouvert dimanche ?")
    status = widget.get_by_test_id("widget-status")
    expect(status).to_be_empty()

    async def disable() -> None:
        db = Database(live.settings.sqlalchemy_url)
        async with db.session() as session:
            await destinations.set_active(session, "chat-port-argent", False)
        await db.dispose()

    run_apart(disable)
    expect(status).to_have_text(
        "Ce chat est fermé. Merci de nous contacter autrement.", timeout=10_000
    )
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(widget.get_by_test_id("widget-queue")).to_be_empty()  # no place in a closed queue
    expect(widget.get_by_test_id("widget-input")).to_be_disabled()
    expect(widget.get_by_test_id("widget-send")).to_be_disabled()
    time.sleep(2)  # no reconnection replaces the notice
    expect(status).to_have_text("Ce chat est fermé. Merci de nous contacter autrement.")
    expect(widget.locator("[data-author=visitor]")).to_have_text(
        ["Le marché est-il ouvert dimanche ?"]
    )
    screenshot(page, "widget-closed")
