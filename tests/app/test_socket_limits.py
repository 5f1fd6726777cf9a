"""The sockets under attack: bounded resumes, no leaks, frame size, hostile input, floods —
over a real server, Redis and database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import websockets

from app.realtime import Hub
from tests.app.test_ws import recv_until, visitor_url
from tests.conftest import LiveServer, login, office_login


def hub_of(live: LiveServer) -> Hub:
    hub: Hub = live.services().hub  # type: ignore[attr-defined]
    return hub


def server_tasks(live: LiveServer) -> Counter[str]:
    """How many tasks of each coroutine are alive in the server's event loop (its thread)."""
    hub = hub_of(live)
    loop = next(iter(hub._tasks.values())).get_loop()

    async def names() -> Counter[str]:
        return Counter(
            t.get_coro().__qualname__  # type: ignore[union-attr]
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task()
        )

    return asyncio.run_coroutine_threadsafe(names(), loop).result(10)


async def settle(live: LiveServer, baseline: Counter[str], timeout: float = 5) -> Counter[str]:
    """The tasks left beyond ``baseline`` once they had ``timeout`` seconds to end."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = server_tasks(live) - baseline
        if not left or asyncio.get_running_loop().time() > deadline:
            return left
        await asyncio.sleep(0.1)


async def test_sockets_closed_right_after_hello_leave_no_task_nor_listener(
    make_server: Callable[..., LiveServer],
) -> None:
    """Visitors and advisers resuming (from the tail, from 0-0, from a trimmed point) and
    closing right after hello, 30 at a time: every handler, pump and queue watch ends, and
    every listener is gone."""
    live = make_server(visitor_max_tabs=100)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
        async with websockets.connect(visitor_url(live)) as first:
            hello = await recv_until(first, "hello")
        token, tail = hello["token"], hello["last_event_id"]
        baseline = server_tasks(live)
        hub = hub_of(live)
        before = hub.listeners()

        async def visitor(resume: str) -> None:
            async with websockets.connect(visitor_url(live, token, last_event_id=resume)) as ws:
                await recv_until(ws, "hello")

        async def inbox(resume: str) -> None:
            url = f"{live.ws_url}/ws/adviser?last_event_id={resume}"
            async with websockets.connect(url, additional_headers=cookie) as ws:
                await recv_until(ws, "hello")

        for _ in range(5):
            await asyncio.gather(
                *(visitor(r) for r in (tail, "0-0", "1-0") * 10),
                *(inbox(r) for r in (tail, "0-0") * 5),
            )
        assert await settle(live, baseline) == Counter()
        assert hub.listeners() == before
