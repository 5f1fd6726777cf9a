"""Outbox dispatchers follow the destinations: one is started for a destination added while
the app runs, and all stop with the app."""

from __future__ import annotations

import asyncio
import time

import websockets

from app import destinations, realtime
from app.dispatch import supervise_dispatchers
from app.services import Services
from tests.app.test_destinations import PASSWORD, add_destination_b
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login


def dispatchers() -> dict[str, asyncio.Task[object]]:
    return {t.get_name(): t for t in asyncio.all_tasks() if t.get_name().startswith("outbox-")}


async def until(check: object, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def test_a_new_destination_gets_a_dispatcher_and_all_stop(services: Services) -> None:
    supervisor = asyncio.create_task(supervise_dispatchers(services, "test-worker", every=0.05))
    await until(lambda: set(dispatchers()) == {"outbox-1"})
    first = dispatchers()["outbox-1"]
    async with services.db.session() as session:
        added = await destinations.add_destination(session, "cote", "Côte", "Europe/Paris")
    await until(lambda: set(dispatchers()) == {"outbox-1", f"outbox-{added.id}"})
    await asyncio.sleep(0.2)  # later passes leave running dispatchers alone
    assert dispatchers()["outbox-1"] is first
    running = list(dispatchers().values())
    await realtime.stop(supervisor)
    assert all(task.done() for task in running)
    assert not dispatchers()


async def test_a_reply_in_a_destination_added_while_running_is_sent(
    live: LiveServer, services: Services
) -> None:
    await add_destination_b(services)  # after the app started
    with login(live.url, "agathe@sauvage.example", PASSWORD) as client:
        cookie = f"concierge_session={client.cookies['concierge_session']}"
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers={"cookie": cookie}
        ) as adviser_ws:
            await recv_until(adviser_ws, "hello")
            async with websockets.connect(visitor_url(live, account="chat-sauvage")) as visitor:
                await recv_until(visitor, "hello")
                await send_message(visitor, "Un ferry ce soir ?")
                created = await recv_until(adviser_ws, "message.created")
                response = client.post(
                    f"/api/conversations/{created['conversation_id']}/messages",
                    json={"text": "Oui, à 19 h 30."},
                )
                assert response.status_code == 201, response.text
                started = time.monotonic()
                status = await recv_until(adviser_ws, "message.status", timeout=15)
                assert status["status"] == "sent"
                assert time.monotonic() - started < 10
                while True:
                    frame = await recv_until(visitor, "message", timeout=5)
                    if frame["message"]["author"] == "adviser":
                        break
                assert frame["message"]["text"] == "Oui, à 19 h 30."
