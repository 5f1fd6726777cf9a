"""The realtime hub hands an event to the staff's sockets (each filters) and to the sockets of
the one chat visitor it is addressed to, found by key: the other visitors' filters are never
asked, whatever their number. Real Redis (the app's own stream)."""

from __future__ import annotations

import asyncio

from app import keys
from app.events import Event, MessageStatus, event_adapter
from app.realtime import Hub, Listener, parse_id
from app.services import Services

DESTINATION = 1


def status(visitor_key: str, message_id: int) -> MessageStatus:
    return MessageStatus(
        conversation_id=7,
        office_id=1,
        assignee_id=None,
        visitor_key=visitor_key,
        message_id=message_id,
        status="sent",
    )


async def received(listener: Listener, count: int) -> list[Event]:
    events: list[Event] = []
    while len(events) < count:
        item = await asyncio.wait_for(listener.queue.get(), 5)
        assert item is not None and item[1] is not None
        events.append(item[1])
    return events


async def test_an_event_reaches_its_visitor_and_the_staff_and_no_other_visitor_is_asked(
    services: Services,
) -> None:
    asked: list[str] = []

    def visitor_filter(key: str) -> Listener:
        def accepts(event: Event) -> bool:
            asked.append(key)
            return event.visitor_key == key

        return Listener(accepts=accepts, visitor_key=key)

    visitors = {
        f"chat-port-argent:v{n}": visitor_filter(f"chat-port-argent:v{n}") for n in range(500)
    }
    twin = visitor_filter("chat-port-argent:v42")  # the same visitor in a second tab
    staff = Listener(accepts=lambda event: True)
    hub = services.hub
    for listener in [*visitors.values(), twin, staff]:
        hub.subscribe(DESTINATION, listener)
    assert hub.listeners() == 502
    await asyncio.sleep(0.3)  # the reader reads from the stream's end

    await hub.publish(DESTINATION, status("chat-port-argent:v42", 1))
    await hub.publish(DESTINATION, status("", 2))  # for the staff only
    assert [e.message_id for e in await received(staff, 2)] == [1, 2]  # type: ignore[attr-defined]
    for listener in (visitors["chat-port-argent:v42"], twin):
        assert [e.message_id for e in await received(listener, 1)] == [1]  # type: ignore[attr-defined]
    assert sorted(asked) == ["chat-port-argent:v42", "chat-port-argent:v42"]
    assert all(listener.queue.empty() for listener in visitors.values())

    # A socket gone is forgotten, its twin still served.
    hub.unsubscribe(DESTINATION, visitors["chat-port-argent:v42"])
    await hub.publish(DESTINATION, status("chat-port-argent:v42", 3))
    assert [e.message_id for e in await received(twin, 1)] == [3]  # type: ignore[attr-defined]
    assert hub.listeners() == 501
    for listener in [*visitors.values(), twin, staff]:
        hub.unsubscribe(DESTINATION, listener)
    assert hub.listeners() == 0


async def test_events_published_together_keep_their_order_in_both_streams(
    services: Services,
) -> None:
    """``publish_many``: one round trip, the same as publishing one by one — the destination's
    stream in order, the visitor's events also in their conversation's stream with the same
    ids, and the visitor's script run even when the server's script cache was emptied."""
    hub = services.hub
    await services.redis.script_flush()
    events: list[Event] = [
        status("chat-port-argent:v9", 1),
        status("", 2),  # for the staff only: not in the conversation's stream
        status("chat-port-argent:v9", 3),
    ]
    ids = await hub.publish_many(DESTINATION, events)
    assert len(ids) == 3 and ids == sorted(ids, key=parse_id)
    destination_rows = await services.redis.xrange(keys.events(DESTINATION), min=ids[0])
    assert [row[0].decode() for row in destination_rows] == ids
    assert [
        event_adapter.validate_json(row[1][b"e"]).message_id  # type: ignore[union-attr]
        for row in destination_rows
    ] == [1, 2, 3]
    chat_rows = await services.redis.xrange(keys.conversation_events(DESTINATION, 7), min=ids[0])
    assert [row[0].decode() for row in chat_rows] == [ids[0], ids[2]]


async def test_events_of_two_conversations_published_together_each_reach_their_own_stream(
    services: Services,
) -> None:
    """One script for any events: each visitor's event goes to its own conversation's stream,
    with the id it has in the destination's."""
    hub = services.hub
    other = status("chat-port-argent:v8", 2).model_copy(update={"conversation_id": 8})
    ids = await hub.publish_many(
        DESTINATION, [status("chat-port-argent:v9", 1), other, status("chat-port-argent:v9", 3)]
    )
    assert ids == sorted(ids, key=parse_id) and len(set(ids)) == 3
    for conversation_id, expected in ((7, [ids[0], ids[2]]), (8, [ids[1]])):
        rows = await services.redis.xrange(
            keys.conversation_events(DESTINATION, conversation_id), min=ids[0]
        )
        assert [row[0].decode() for row in rows] == expected
        assert await services.redis.ttl(keys.conversation_events(DESTINATION, conversation_id)) > 0


def drained(listener: Listener) -> list[tuple[str, Event]]:
    """What the listener's queue holds now, without waiting."""
    items: list[tuple[str, Event]] = []
    while not listener.queue.empty():
        item = listener.queue.get_nowait()
        assert item is not None and item[1] is not None
        items.append((item[0], item[1]))
    return items


async def test_two_workers_publishing_at_once_deliver_the_stream_in_order_everywhere(
    services: Services,
) -> None:
    """Events published by two workers at once, from several tasks each: every socket of
    either worker gets every event once, in the stream's order."""
    hub, other = services.hub, Hub(services.redis)
    here, there = Listener(accepts=lambda event: True), Listener(accepts=lambda event: True)
    hub.subscribe(DESTINATION, here)
    other.subscribe(DESTINATION, there)
    try:
        await asyncio.sleep(0.3)
        start = await hub.tail_id(DESTINATION)

        async def publisher(worker: Hub, first: int) -> None:
            for n in range(first, first + 40):
                await worker.publish(DESTINATION, status("", n))

        await asyncio.gather(*(publisher(w, k * 100) for k, w in enumerate([hub, other] * 3)))
        rows = await services.redis.xrange(keys.events(DESTINATION), min=f"({start}")
        stream = [row[0].decode() for row in rows]
        assert len(stream) == 240
        for listener in (here, there):
            got = [await asyncio.wait_for(listener.queue.get(), 5) for _ in stream]
            assert [item[0] for item in got if item is not None] == stream
            await asyncio.sleep(0.2)
            assert drained(listener) == []  # nothing twice
    finally:
        await other.close()
        hub.unsubscribe(DESTINATION, here)


async def test_a_socket_too_slow_is_given_up_whole_so_it_resumes_from_what_it_got(
    services: Services,
) -> None:
    """A listener whose queue fills is handed nothing more, and what waited is dropped with
    the notice: its socket closes (4408) after the last event it sent and resumes from there.
    Dropping only the oldest would have the socket send the later ones, then resume past the
    one it never sent."""
    hub = services.hub
    slow = Listener(accepts=lambda event: True, queue=asyncio.Queue(maxsize=3))
    keeping = Listener(accepts=lambda event: True)
    hub.subscribe(DESTINATION, slow)
    hub.subscribe(DESTINATION, keeping)
    await asyncio.sleep(0.3)  # the reader reads from the stream's end
    await hub.publish_many(DESTINATION, [status("", n) for n in range(1, 6)])
    assert [e.message_id for e in await received(keeping, 5)] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
    assert slow.overflowed
    assert slow.queue.qsize() == 1 and slow.queue.get_nowait() is None
    await hub.publish(DESTINATION, status("", 6))
    assert [e.message_id for e in await received(keeping, 1)] == [6]  # type: ignore[attr-defined]
    assert slow.queue.empty()
    hub.unsubscribe(DESTINATION, slow)
    hub.unsubscribe(DESTINATION, keeping)
