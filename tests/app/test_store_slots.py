"""A worker behind on storing visitor messages says "busy" rather than queueing without end:
the slots themselves, then over a real server's visitor sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets

from app.store_slots import Busy, StoreSlots
from app.web.visitor_ws import PENDING_KEPT
from tests.app.test_socket_limits import hub_of
from tests.app.test_ws import recv_until, visitor_url
from tests.conftest import LiveServer


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_at_most_slots_hold_and_the_waiting_are_served_in_order() -> None:
    slots = StoreSlots(2, max_wait=60)
    holding = 0
    most = 0
    entered: list[int] = []
    release = asyncio.Event()

    async def store(n: int) -> None:
        nonlocal holding, most
        async with slots.slot():
            entered.append(n)
            holding += 1
            most = max(most, holding)
            await release.wait()
            holding -= 1

    tasks = []
    for n in range(6):
        tasks.append(asyncio.create_task(store(n)))
        await asyncio.sleep(0)  # they arrive in this order
    await asyncio.sleep(0.01)
    assert entered == [0, 1] and slots.waiting == 4
    release.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3, 4, 5] and most == 2
    assert slots.waiting == 0 and slots._free == 2


class Queue:
    """Messages stored through ``slots``, each holding its slot until :meth:`finish`."""

    def __init__(self, slots: StoreSlots) -> None:
        self.slots = slots
        self.release = asyncio.Event()
        self.done: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def _store(self, name: str, again: bool) -> None:
        async with self.slots.slot(again):
            await self.release.wait()
            self.done.append(name)

    async def add(self, name: str, again: bool = False) -> None:
        """Stores ``name`` (it takes a slot or waits for one, as from now)."""
        self.tasks.append(asyncio.create_task(self._store(name, again)))
        await asyncio.sleep(0)

    async def finish(self) -> list[str]:
        self.release.set()
        await asyncio.gather(*self.tasks)
        return self.done


async def one_held_one_waiting() -> tuple[Clock, StoreSlots, Queue]:
    """One slot (1 s of waiting allowed) held by "holder", and "first" waiting from t=0."""
    clock = Clock()
    slots = StoreSlots(1, max_wait=1.0, now=clock)
    queue = Queue(slots)
    await queue.add("holder")
    await queue.add("first")
    return clock, slots, queue


async def test_refused_once_the_oldest_waiting_has_waited_too_long() -> None:
    clock, slots, queue = await one_held_one_waiting()
    clock.t = 0.9
    await queue.add("second")  # the oldest has waited 0.9 s: queued
    assert slots.waiting == 2
    clock.t = 1.2
    with pytest.raises(Busy) as refused:
        async with slots.slot():
            pytest.fail("let in while the worker is behind")
    assert 1.0 <= refused.value.retry_after <= 2.0
    with pytest.raises(Busy):
        slots.check()
    assert slots.refused == 2 and slots.waiting == 2  # a refusal queues nothing

    # The queued ones are all stored, in order.
    assert await queue.finish() == ["holder", "first", "second"]
    clock.t = 100.0
    slots.check()  # nobody waiting: not behind, however long ago the last wait was
    async with slots.slot():
        pass


async def test_a_message_refused_once_is_let_in_until_twice_as_far_behind() -> None:
    clock, slots, queue = await one_held_one_waiting()
    clock.t = 1.5  # behind: a new message is refused, one refused before is queued
    with pytest.raises(Busy):
        slots.check()
    slots.check(again=True)
    await queue.add("retried", again=True)
    assert slots.waiting == 2
    clock.t = 2.1  # twice as far behind: refused alike, and nothing more is queued
    for again in (False, True):
        with pytest.raises(Busy):
            async with slots.slot(again):
                pytest.fail("let in while the worker is far behind")
    assert slots.waiting == 2 and slots.refused == 3
    assert await queue.finish() == ["holder", "first", "retried"]


async def test_a_message_s_wait_counts_from_its_arrival_when_no_slot_is_free() -> None:
    """A message that reached the worker at ``since`` and waited elsewhere first (behind its
    own socket's earlier messages) is refused once that wait is past the limit, if it would
    have to queue; with a slot free it is stored at once, however long it waited."""
    clock = Clock()
    slots = StoreSlots(1, max_wait=1.0, now=clock)
    clock.t = 5.0
    slots.check(since=0.0)  # a slot is free: not behind
    async with slots.slot(since=0.0):
        with pytest.raises(Busy):
            slots.check(since=3.9)  # would queue, having waited 1.1 s already
        slots.check(since=4.5)  # 0.5 s: queued
        slots.check(again=True, since=3.5)  # refused once before: twice the limit
        with pytest.raises(Busy):
            async with slots.slot(since=3.9):
                pytest.fail("queued though it had waited past the limit")
    assert slots.waiting == 0 and slots._free == 1 and slots.refused == 2


async def test_a_waiter_is_aged_from_its_arrival() -> None:
    clock = Clock()
    slots = StoreSlots(1, max_wait=1.0, now=clock)
    release = asyncio.Event()
    stored: list[str] = []

    async def store(name: str, since: float) -> None:
        async with slots.slot(since=since):
            stored.append(name)
            await release.wait()

    clock.t = 10.0
    holder = asyncio.create_task(store("holder", 10.0))
    await asyncio.sleep(0)
    late = asyncio.create_task(store("late", 9.5))  # arrived 0.5 s ago, queued now
    await asyncio.sleep(0)
    assert slots.waiting == 1
    clock.t = 10.6  # the waiter has been here 1.1 s, though in the queue only 0.6 s
    with pytest.raises(Busy):
        slots.check()
    release.set()
    await asyncio.gather(holder, late)
    assert stored == ["holder", "late"]


async def test_a_waiter_cancelled_gives_its_place_back() -> None:
    slots = StoreSlots(1, max_wait=60)
    release = asyncio.Event()
    order: list[str] = []

    async def store(name: str) -> None:
        async with slots.slot():
            order.append(name)
            await release.wait()

    holder = asyncio.create_task(store("holder"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(store("gone"))
    after = asyncio.create_task(store("after"))
    await asyncio.sleep(0)
    gone.cancel()  # a socket closed while its message waited
    await asyncio.sleep(0)
    assert slots.waiting == 1
    release.set()
    await asyncio.gather(holder, after)
    assert gone.cancelled() and order == ["holder", "after"]
    assert slots._free == 1 and slots.waiting == 0


async def test_a_slot_handed_to_a_waiter_cancelled_at_that_moment_goes_to_the_next() -> None:
    slots = StoreSlots(1, max_wait=60)
    order: list[str] = []

    async def store(name: str) -> None:
        async with slots.slot():
            order.append(name)

    async with slots.slot():
        unlucky = asyncio.create_task(store("unlucky"))
        next_one = asyncio.create_task(store("next"))
        await asyncio.sleep(0)
    # The slot was handed to "unlucky" on leaving; it is cancelled before it could run.
    unlucky.cancel()
    await asyncio.gather(unlucky, next_one, return_exceptions=True)
    assert unlucky.cancelled() and order == ["next"]
    assert slots._free == 1 and slots.waiting == 0


class HeldSlot:
    """The server's only store slot, taken on its own event loop until :meth:`release`
    (``queued``: asked for now, behind whoever holds or waits for it, and held once had)."""

    def __init__(self, live: LiveServer, queued: bool = False) -> None:
        self.slots: StoreSlots = live.services().store_slots  # type: ignore[attr-defined]
        self.loop = next(iter(hub_of(live)._tasks.values())).get_loop()
        taken = asyncio.run_coroutine_threadsafe(self._take(queued), self.loop)
        self.event: asyncio.Event = taken.result(5)

    async def _take(self, queued: bool) -> asyncio.Event:
        event = asyncio.Event()
        entered = asyncio.Event()

        async def hold() -> None:
            async with self.slots.slot():
                entered.set()
                await event.wait()

        self.task = asyncio.create_task(hold())
        if queued:
            await asyncio.sleep(0)  # in the queue now
        else:
            await entered.wait()
        return event

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.event.set)


def message(client_id: str, text: str) -> str:
    return json.dumps({"type": "message", "client_id": client_id, "text": text})


async def test_a_visitor_gets_busy_while_the_worker_is_behind_and_the_message_is_stored_once(
    make_server: Callable[..., LiveServer],
) -> None:
    """One slot, taken; a first visitor's message waits behind it; once it has waited longer
    than the limit, a second visitor's message is refused with "busy", a time to try again and
    a text in their language, and nothing is stored for it. Once the worker catches up, the
    waiting message is stored, and the refused one, sent again with its client id, is stored
    exactly once."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=0.3)
    async with (
        websockets.connect(visitor_url(live, lang="en")) as first,
        websockets.connect(visitor_url(live, lang="fr")) as second,
    ):
        await recv_until(first, "hello")
        hello = await recv_until(second, "hello")
        held = HeldSlot(live)
        await first.send(message("waiting-0001", "Is the ferry running?"))
        with pytest.raises(TimeoutError):
            await recv_until(first, "ack", timeout=0.5)  # waiting for the slot, not refused

        await second.send(message("refused-0001", "Le phare est-il ouvert ?"))
        error = await recv_until(second, "error")
        assert error["code"] == "busy" and error["client_id"] == "refused-0001"
        assert 1.0 <= error["retry_after"] <= 2.0
        assert error["message"].startswith("Beaucoup de visiteurs écrivent")
        assert held.slots.refused >= 1

        held.release()
        stored = await recv_until(first, "ack")
        assert stored["client_id"] == "waiting-0001"
        await second.send(message("refused-0001", "Le phare est-il ouvert ?"))  # as the widget does
        ack = await recv_until(second, "ack")
        await second.send(message("refused-0001", "Le phare est-il ouvert ?"))  # once more: deduped
        again = await recv_until(second, "ack")
        assert ack["message_id"] == again["message_id"]

    async with websockets.connect(visitor_url(live, hello["token"], lang="fr")) as back:
        history = (await recv_until(back, "hello"))["messages"]
    assert [m["text"] for m in history if m["author"] == "visitor"] == ["Le phare est-il ouvert ?"]


async def test_a_visitor_refused_once_is_stored_when_sending_again_while_newcomers_are_refused(
    make_server: Callable[..., LiveServer],
) -> None:
    """One slot, taken; a message waits behind it past the limit: a visitor's new message is
    refused, and sent again soon after (the worker still behind, not twice as far) it is queued
    and stored, while a newcomer's message is refused then."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=1.0)
    async with (
        websockets.connect(visitor_url(live, lang="en")) as first,
        websockets.connect(visitor_url(live, lang="en")) as second,
        websockets.connect(visitor_url(live, lang="en")) as newcomer,
    ):
        for ws in (first, second, newcomer):
            await recv_until(ws, "hello")
        held = HeldSlot(live)
        await first.send(message("waiting-0001", "Is the ferry running?"))
        await asyncio.sleep(1.2)  # the waiting message is now past the limit
        await second.send(message("again-0001", "Is the museum open?"))
        assert (await recv_until(second, "error"))["code"] == "busy"
        await second.send(message("again-0001", "Is the museum open?"))  # as the widget does
        await newcomer.send(message("new-0001", "Where can I park?"))
        refused = await recv_until(newcomer, "error")
        assert refused["code"] == "busy" and refused["client_id"] == "new-0001"
        with pytest.raises(TimeoutError):
            await recv_until(second, "error", timeout=0.3)  # queued this time, not refused
        held.release()
        assert (await recv_until(first, "ack"))["client_id"] == "waiting-0001"
        assert (await recv_until(second, "ack"))["client_id"] == "again-0001"


async def test_a_message_that_waited_behind_its_own_socket_is_refused_from_its_arrival(
    make_server: Callable[..., LiveServer],
) -> None:
    """A visitor sends two messages at once while the worker is behind: the second waits
    behind the first, on its own socket, then would wait for a slot again — its wait counts
    from when it arrived, so past the limit it is told "busy" (before, it was never seen as
    waiting: a worker with few, fast sockets fell behind without end and refused nothing).
    Sent again once the worker has caught up, it is stored, once."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=0.5)
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        await recv_until(ws, "hello")
        error, after = await second_refused_behind_the_first(live, ws)
        assert error["code"] == "busy" and error["client_id"] == "second-0001"
        after.release()
        await ws.send(message("second-0001", "And on Sundays?"))  # as the widget does
        ack = await recv_until(ws, "ack")
        assert ack["client_id"] == "second-0001"


async def second_refused_behind_the_first(
    live: LiveServer, ws: Any
) -> tuple[dict[str, Any], HeldSlot]:
    """Two messages at once while the worker is behind (a store limit of 0.5 s): the first is
    stored once it catches up, the second, having waited past the limit behind it, is refused.
    Returns the refusal, and the store still holding the slot (to release)."""
    held = HeldSlot(live)
    await ws.send(message("first-0001", "Is the ferry running?"))
    await ws.send(message("second-0001", "And on Sundays?"))
    await asyncio.sleep(0.2)  # both here: the first waits for the slot, the second behind it
    after = HeldSlot(live, queued=True)  # another store, in line behind the first
    await asyncio.sleep(0.6)  # the second has waited past the limit
    held.release()
    assert (await recv_until(ws, "ack"))["client_id"] == "first-0001"
    return await recv_until(ws, "error"), after


async def test_a_ping_is_answered_while_the_socket_s_message_waits_to_be_stored(
    make_server: Callable[..., LiveServer],
) -> None:
    """Frames are read as they come: a ping (or typing) is not held behind a message the
    worker has not stored yet."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=30)
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        await recv_until(ws, "hello")
        held = HeldSlot(live)
        await ws.send(message("held-0001", "Is the ferry running?"))
        await ws.send(json.dumps({"type": "ping"}))
        await recv_until(ws, "pong", timeout=2)
        with pytest.raises(TimeoutError):
            await recv_until(ws, "ack", timeout=0.3)  # still waiting for the slot
        held.release()
        assert (await recv_until(ws, "ack"))["client_id"] == "held-0001"


async def test_a_burst_on_one_socket_is_stored_in_order_and_what_overflows_is_busy(
    make_server: Callable[..., LiveServer],
) -> None:
    """A widget sending many messages at once (a reconnect after a long time offline): they
    wait behind each other on the socket, in order; past the socket's own bound the next ones
    are refused "busy" at once. Sent again, all are stored once, in the order written."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=30, visitor_rate=1000)
    burst = PENDING_KEPT + 3
    client_ids = [f"burst-{n:04d}" for n in range(burst)]
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        hello = await recv_until(ws, "hello")
        held = HeldSlot(live)  # nothing is stored meanwhile
        await ws.send(message(client_ids[0], "Message 0"))
        await asyncio.sleep(0.3)  # taken by the socket's writer, which waits for the slot
        for n, client_id in enumerate(client_ids[1:], start=1):
            await ws.send(message(client_id, f"Message {n}"))
        await asyncio.sleep(0.5)
        held.release()
        answers = [await recv_until_any(ws, ("ack", "error")) for _ in range(burst)]
        refused = [a["client_id"] for a in answers if a["type"] == "error"]
        assert {a["code"] for a in answers if a["type"] == "error"} == {"busy"}
        # The socket holds one being stored and PENDING_KEPT waiting: the rest, the last ones.
        assert refused == client_ids[PENDING_KEPT + 1 :]
        stored = [a["client_id"] for a in answers if a["type"] == "ack"]
        assert stored == client_ids[: burst - len(refused)]  # in order
        for client_id in refused:  # as the widget does
            await ws.send(message(client_id, f"Message {client_ids.index(client_id)}"))
            assert (await recv_until(ws, "ack"))["client_id"] == client_id
    async with websockets.connect(visitor_url(live, hello["token"], lang="en")) as back:
        history = (await recv_until(back, "hello"))["messages"]
    texts = [m["text"] for m in history if m["author"] == "visitor"]
    assert texts == [f"Message {n}" for n in range(burst)]


async def recv_until_any(ws: Any, wanted: tuple[str, ...]) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] in wanted:
            return frame


async def test_a_message_written_after_a_refused_one_is_not_stored_before_it(
    make_server: Callable[..., LiveServer],
) -> None:
    """A visitor's message is refused "busy"; the worker catches up before the widget sends it
    again, and the visitor writes another meanwhile: that one is refused too, with the time left
    to wait, until the first comes back. Then both are stored, in the order written, and the
    adviser never reads the second before the first."""
    live = make_server(ingest_slots=1, ingest_max_wait_seconds=0.5, visitor_rate=1000)
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        hello = await recv_until(ws, "hello")
        refused, after = await second_refused_behind_the_first(live, ws)
        assert refused["code"] == "busy" and refused["client_id"] == "second-0001"
        after.release()  # caught up: a new message would be stored at once

        await ws.send(message("third-0001", "Do you sell tickets?"))
        held_back = await recv_until(ws, "error")
        assert held_back["code"] == "busy" and held_back["client_id"] == "third-0001"
        assert 0.5 <= held_back["retry_after"] <= refused["retry_after"]
        await ws.send(message("third-0001", "Do you sell tickets?"))  # again, still too early
        assert (await recv_until(ws, "error"))["client_id"] == "third-0001"

        await ws.send(message("second-0001", "And on Sundays?"))  # as the widget does: in order
        await ws.send(message("third-0001", "Do you sell tickets?"))
        acks = [await recv_until_any(ws, ("ack", "error")) for _ in range(2)]
        assert [(a["type"], a["client_id"]) for a in acks] == [
            ("ack", "second-0001"),
            ("ack", "third-0001"),
        ]
    async with websockets.connect(visitor_url(live, hello["token"], lang="en")) as back:
        history = (await recv_until(back, "hello"))["messages"]
    texts = [m["text"] for m in history if m["author"] == "visitor"]
    assert texts == ["Is the ferry running?", "And on Sundays?", "Do you sell tickets?"]


async def test_a_message_refused_for_its_rate_holds_the_ones_queued_behind_it(
    make_server: Callable[..., LiveServer],
) -> None:
    """Three messages at once from a visitor allowed two a minute: the third is refused for
    its rate, and so is a fourth written after it even once the rate would let one through
    (the old widget's own delay); sent again in order, they are stored in order."""
    live = make_server(visitor_rate=2, rate_window_seconds=2)
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        hello = await recv_until(ws, "hello")
        for n in range(3):
            await ws.send(message(f"rate-{n:04d}", f"Message {n}"))
        answers = [await recv_until_any(ws, ("ack", "error")) for _ in range(3)]
        assert [a["type"] for a in answers] == ["ack", "ack", "error"]
        assert answers[2]["code"] == "rate_limited"
        await asyncio.sleep(1.2)  # a token is back
        await ws.send(message("rate-0003", "Message 3"))
        held_back = await recv_until(ws, "error")
        assert held_back["code"] == "rate_limited" and held_back["client_id"] == "rate-0003"
        assert held_back["retry_after"] > 0
        for n in (2, 3):
            await ws.send(message(f"rate-{n:04d}", f"Message {n}"))
            answer = await recv_until_any(ws, ("ack", "error"))
            while answer["type"] == "error":  # the rate again: as the widget does, later
                assert answer["code"] == "rate_limited"
                await asyncio.sleep(answer.get("retry_after", 1.0))
                await ws.send(message(f"rate-{n:04d}", f"Message {n}"))
                answer = await recv_until_any(ws, ("ack", "error"))
            assert answer["client_id"] == f"rate-{n:04d}"
    async with websockets.connect(visitor_url(live, hello["token"], lang="en")) as back:
        history = (await recv_until(back, "hello"))["messages"]
    texts = [m["text"] for m in history if m["author"] == "visitor"]
    assert texts == [f"Message {n}" for n in range(4)]
