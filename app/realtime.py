"""The realtime hub: one Redis stream reader per worker, fanned out to that worker's websockets.

Every event goes into the destination's Redis stream (``XADD``); each worker reads the stream
with one blocking ``XREAD`` and hands each event to the local listeners whose filter accepts it:
the staff's sockets, each asked, and the sockets of the one chat visitor the event is addressed
to, found by their key (thousands of waiting visitors cost nothing per event).
Stream entry ids are the events' ids: a client that reconnects with the last id it saw gets the
backlog from the stream, then live events, with no gap and no duplicate.

A backlog is bounded: at most ``limit`` events are read (``XRANGE … COUNT``), and a client
further behind than that, or than ``max_age``, is told to ``resync`` (reload what it shows)
instead. The events of a chat visitor's conversation are also written, with the same entry id
and in the same script, to a small stream of that conversation's own (capped, expiring): a
visitor resuming reads only what concerns them, never the destination's whole stream, so an
anonymous socket resuming from ``0-0`` costs a few small reads whatever the destination's
traffic. (Keyed by conversation, not by visitor: erasing a conversation deletes its stream.)

Ephemeral signals (typing, viewing, presence) go through Redis pub/sub instead: nothing is kept,
and listeners receive them with an empty event id, outside the resumable order. On a Redis
Cluster that is *sharded* pub/sub (``SPUBLISH``/``SSUBSCRIBE``): the destination's channel
carries its hash tag, so it lives on the shard of its streams, and a failover is followed like
the streams' (the reader starts again on the new master).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app import keys, outage
from app.events import Event, event_adapter
from app.redis_connect import is_cluster

log = logging.getLogger(__name__)

FRAMES_KEPT = 1024  # rendered frames kept for the other sockets of the same event
STREAM_MAXLEN = 100_000  # events kept for resuming; an older resume point asks for a resync
# A chat conversation's own stream keeps at least this many events (approximate trimming keeps a few
# more), for CHAT_STREAM_TTL after their last one. Any backlog bound below it is exact: a
# trimmed resume point always has more than the bound after it, hence a resync.
CHAT_STREAM_MAXLEN = 1000
CHAT_STREAM_TTL = 7 * 24 * 3600  # longer than any resume age accepted (resume_max_age)
CLOSED: tuple[str, None] = ("", None)  # queued by Listener.close: the socket has ended

# Events appended in one script, in order: each to the destination's stream, and an event a
# visitor may see also to its conversation's with the entry id the first XADD returned, so that
# the visitor's stream gets the same ids in the same order even when two workers publish at once.
# KEYS: the destination's stream, then the conversations' streams (one hash tag: a cluster
# runs the script on one node). ARGV: the two bounds and the TTL, then per event its JSON and
# the index in KEYS of its conversation's stream (0: none).
_PUBLISH = """
local ids = {}
for i = 4, #ARGV, 2 do
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
  local k = tonumber(ARGV[i + 1])
  if k > 0 then
    redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[2], id, 'e', ARGV[i])
    redis.call('EXPIRE', KEYS[k], ARGV[3])
  end
  ids[#ids + 1] = id
end
return ids
"""


def _publish_arguments(destination_id: int, events: Sequence[Event]) -> tuple[list[str], list[Any]]:
    """The keys and arguments of :data:`_PUBLISH` for ``events``."""
    stream_keys = [keys.events(destination_id)]
    arguments: list[Any] = [STREAM_MAXLEN, CHAT_STREAM_MAXLEN, CHAT_STREAM_TTL]
    for event in events:
        index = 0
        if event.visitor_key:
            stream = keys.conversation_events(destination_id, event.conversation_id)
            if stream not in stream_keys:
                stream_keys.append(stream)
            index = stream_keys.index(stream) + 1  # Lua counts from 1
        arguments += [event_adapter.dump_json(event), index]
    return stream_keys, arguments


def parse_id(event_id: str) -> tuple[int, int]:
    """Orders stream ids; raises ValueError on anything that is not ``<ms>-<seq>``."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False)
class Listener:
    """One websocket's subscription: a filter and a bounded queue of (event id, event);
    ``None`` says the client fell behind, :data:`CLOSED` that the socket ended."""

    accepts: Callable[[Event], bool]
    # A chat visitor's socket takes only events addressed to its visitor (``visitor_key``):
    # the hub hands it only those, without asking every visitor socket of the destination.
    visitor_key: str = ""
    queue: asyncio.Queue[tuple[str, Event] | tuple[str, None] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=2000)
    )
    overflowed: bool = False
    closed: bool = False
    # Set by :meth:`end`: the close code and reason the socket's pump closes it with.
    ending: tuple[int, str] | None = None

    def end(self, code: int, reason: str) -> None:
        """Ends the socket from elsewhere (its chat widget disabled): its pump closes it with
        ``code`` and ``reason``."""
        self.ending = (code, reason)
        self.close()

    def close(self) -> None:
        """Wakes whoever waits on the queue with :data:`CLOSED`, so a pump ends even when a
        cancellation was lost on its way (redis-py can swallow one)."""
        self.closed = True
        self.overflowed = True  # nothing more is queued
        with contextlib.suppress(asyncio.QueueEmpty):
            while self.queue.full():
                self.queue.get_nowait()
        self.queue.put_nowait(CLOSED)


class Hub:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._listeners: dict[int, set[Listener]] = {}  # staff sockets: each filters
        self._visitors: dict[int, dict[str, set[Listener]]] = {}  # by visitor key
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._signal_tasks: dict[int, asyncio.Task[None]] = {}
        self._frames: OrderedDict[tuple[str, int, str], str | None] = OrderedDict()
        self._publish = redis.register_script(_PUBLISH)
        self._sharded = is_cluster(redis)  # signals by sharded pub/sub on a cluster

    async def publish(self, destination_id: int, event: Event) -> str:
        """Appends an event to the destination's stream (and to its chat conversation's, when a
        visitor may see it); returns its id."""
        return (await self.publish_many(destination_id, [event]))[0]

    async def publish_many(self, destination_id: int, events: Sequence[Event]) -> list[str]:
        """:meth:`publish` for several events, in order, in one round trip: one script, which
        Redis runs whole, no other client's command between its appends."""
        if not events:
            return []
        stream_keys, arguments = _publish_arguments(destination_id, events)
        ids: list[Any] = await self._publish(keys=stream_keys, args=arguments)
        return [_decode(event_id) for event_id in ids]

    async def signal(self, destination_id: int, event: Event) -> None:
        """Sends an ephemeral event to the listeners of every worker, now, and keeps nothing."""
        channel, data = keys.signals(destination_id), event_adapter.dump_json(event)
        if self._sharded:
            await self.redis.spublish(channel, data)
        else:
            await self.redis.publish(channel, data)

    async def tail_id(self, destination_id: int) -> str:
        last: Any = await self.redis.xrevrange(keys.events(destination_id), count=1)
        return _decode(last[0][0]) if last else "0-0"

    async def backlog(
        self,
        destination_id: int,
        after: str,
        *,
        limit: int,
        max_age: float,
        conversation_id: int | None = None,
    ) -> list[tuple[str, Event]] | None:
        """At most ``limit`` events after ``after`` — of one chat conversation when
        ``conversation_id`` is given, read from its own stream (0: a visitor without a
        conversation yet, nothing to replay); None (resync) when there are more, when
        ``after`` is older than what the stream keeps, or more than ``max_age`` seconds old.

        ``0-0`` means "from the beginning" and is not aged: a stream that was empty when the
        client said hello gave it that id."""
        start = parse_id(after)
        if start != (0, 0) and start[0] < (time.time() - max_age) * 1000:
            return None
        if conversation_id == 0:
            return []
        if conversation_id is not None:
            stream = keys.conversation_events(destination_id, conversation_id)
        else:
            stream = keys.events(destination_id)
            first: Any = await self.redis.xrange(stream, count=1)
            if first and start != (0, 0) and parse_id(_decode(first[0][0])) > start:
                return None  # trimmed past the resume point
        rows: Any = await self.redis.xrange(stream, min=f"({after}", count=limit + 1)
        if len(rows) > limit:
            return None
        return [(eid, ev) for eid, ev in (_entry(row) for row in rows) if ev is not None]

    def listeners(self) -> int:
        """How many sockets of this worker listen (tests and bench/socket_probe.py)."""
        staff = sum(len(group) for group in self._listeners.values())
        visitors = sum(len(g) for keyed in self._visitors.values() for g in keyed.values())
        return staff + visitors

    def subscribe(self, destination_id: int, listener: Listener) -> None:
        if listener.visitor_key:
            keyed = self._visitors.setdefault(destination_id, {})
            keyed.setdefault(listener.visitor_key, set()).add(listener)
        else:
            self._listeners.setdefault(destination_id, set()).add(listener)
        if destination_id not in self._tasks or self._tasks[destination_id].done():
            self._tasks[destination_id] = asyncio.create_task(
                self._read(destination_id), name=f"hub-reader-{destination_id}"
            )
        if destination_id not in self._signal_tasks or self._signal_tasks[destination_id].done():
            self._signal_tasks[destination_id] = asyncio.create_task(
                self._listen(destination_id), name=f"hub-signals-{destination_id}"
            )

    def visitors_of(self, destination_id: int, account_key: str) -> list[Listener]:
        """This worker's chat visitor sockets on the widget ``account_key``."""
        prefix = f"{account_key}:"  # visitor keys are "<account key>:<visitor id>"
        keyed = self._visitors.get(destination_id, {})
        return [
            listener for key, group in keyed.items() if key.startswith(prefix) for listener in group
        ]

    def has_visitors(self) -> bool:
        return any(self._visitors.values())

    def has_visitor(self, destination_id: int, visitor_key: str) -> bool:
        """Whether a socket of the chat visitor ``visitor_key`` is open on this worker: their
        widget is open then, which nobody needs to ask Redis."""
        group = self._visitors.get(destination_id, {}).get(visitor_key, ())
        return any(not listener.closed for listener in group)

    def unsubscribe(self, destination_id: int, listener: Listener) -> None:
        """Stops handing events to ``listener`` and wakes its pump for good."""
        if listener.visitor_key:
            keyed = self._visitors.get(destination_id, {})
            group = keyed.get(listener.visitor_key, set())
            group.discard(listener)
            if not group:
                keyed.pop(listener.visitor_key, None)
        else:
            self._listeners.get(destination_id, set()).discard(listener)
        listener.close()

    async def close(self) -> None:
        tasks = [*self._tasks.values(), *self._signal_tasks.values()]
        await asyncio.gather(*(stop(task) for task in tasks))
        self._tasks.clear()
        self._signal_tasks.clear()

    async def _listen(self, destination_id: int) -> None:
        """Hands each ephemeral signal of the destination to the local listeners."""
        channel = keys.signals(destination_id)
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                if self._sharded:
                    await pubsub.ssubscribe(channel)
                else:
                    await pubsub.subscribe(channel)
                while True:
                    if self._sharded:
                        message = await pubsub.get_sharded_message(timeout=5.0)  # type: ignore[attr-defined,unused-ignore]
                    else:
                        message = await pubsub.get_message(timeout=5.0)
                    if message is None or message.get("type") not in ("message", "smessage"):
                        continue
                    try:
                        event = event_adapter.validate_json(message["data"])
                    except ValueError:
                        log.error("skipping unreadable signal on %s", channel)
                        continue
                    self._dispatch(destination_id, "", event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # signals must keep flowing whatever one read did
                if not outage.quiet(exc, "signals"):  # a Redis outage is said once
                    log.warning("signal channel read failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]

    async def _read(self, destination_id: int) -> None:
        stream = keys.events(destination_id)
        last = ""  # read inside the loop: a Redis down when the reader starts is waited out
        while True:
            try:
                last = last or await self.tail_id(destination_id)
                batches: Any = await self.redis.xread({stream: last}, block=5000, count=500)
            except (RedisConnectionError, ResponseError, OSError) as exc:
                if not outage.quiet(exc, "event stream"):  # a Redis outage is said once
                    log.warning("event stream read failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # live events must keep flowing whatever one read did
                log.exception("event stream read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            for _stream, rows in batches or []:
                for row in rows:
                    event_id, event = _entry(row)
                    last = event_id
                    if event is not None:
                        self._dispatch(destination_id, event_id, event)

    def frame_text(
        self,
        render: Callable[[str, Event], dict[str, Any] | None],
        destination_id: int,
        event_id: str,
        event: Event,
    ) -> str | None:
        """``render``'s frame for an event as JSON text. Every socket of one kind gets the same
        frame, so it is rendered once and kept for the other sockets (ephemeral signals, with
        no event id, are rendered each time)."""
        if not event_id:
            frame = render(event_id, event)
            return None if frame is None else json.dumps(frame, ensure_ascii=False)
        key = (render.__name__, destination_id, event_id)
        try:
            return self._frames[key]
        except KeyError:
            pass
        frame = render(event_id, event)
        text = (
            None if frame is None else json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        )
        self._frames[key] = text
        if len(self._frames) > FRAMES_KEPT:
            self._frames.popitem(last=False)
        return text

    def _dispatch(self, destination_id: int, event_id: str, event: Event) -> None:
        listeners = list(self._listeners.get(destination_id, ()))
        if event.visitor_key:
            listeners += self._visitors.get(destination_id, {}).get(event.visitor_key, ())
        for listener in listeners:
            if listener.overflowed or not listener.accepts(event):
                continue
            try:
                listener.queue.put_nowait((event_id, event))
            except asyncio.QueueFull:
                # A client too slow to keep up is told to reconnect and resume from the last
                # event it got: what waits for it is dropped whole (dropping only the oldest
                # would have it get the later ones, then resume past the one it never got).
                listener.overflowed = True
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        listener.queue.get_nowait()
                listener.queue.put_nowait(None)


async def stop(task: asyncio.Task[Any] | None, resend: float = 0.2) -> None:
    """Cancels ``task`` and waits until it has ended, without swallowing a cancellation of the
    caller.

    The cancellation is sent again every ``resend`` seconds while the task runs: on Python
    3.11, ``asyncio.wait_for`` (which redis-py uses for every reply) drops a cancellation that
    lands as the reply arrives, and a loop around Redis calls would then go on for ever."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=resend)
    if not task.cancelled() and task.exception() is not None:
        # Its own failure was the task's to log; the caller is ending it anyway.
        log.debug("task %s had failed", task.get_name(), exc_info=task.exception())


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry(row: Any) -> tuple[str, Event | None]:
    event_id = _decode(row[0])
    fields = {_decode(k): v for k, v in row[1].items()}
    try:
        return event_id, event_adapter.validate_json(fields["e"])
    except (KeyError, ValueError):
        log.error("skipping unreadable event %s", event_id)
        return event_id, None
