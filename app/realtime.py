"""The realtime hub: one Redis stream reader per worker, fanned out to that worker's websockets.

Every event goes into the destination's Redis stream (``XADD``); each worker reads the stream
with one blocking ``XREAD`` and hands each event to the local listeners whose filter accepts it.
Stream entry ids are the events' ids: a client that reconnects with the last id it saw gets the
backlog from the stream, then live events, with no gap and no duplicate.

Ephemeral signals (typing, viewing, presence) go through Redis pub/sub instead: nothing is kept,
and listeners receive them with an empty event id, outside the resumable order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app import keys
from app.events import Event, event_adapter

log = logging.getLogger(__name__)

FRAMES_KEPT = 1024  # rendered frames kept for the other sockets of the same event
STREAM_MAXLEN = 100_000  # events kept for resuming; an older resume point asks for a resync


def parse_id(event_id: str) -> tuple[int, int]:
    """Orders stream ids; raises ValueError on anything that is not ``<ms>-<seq>``."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False)
class Listener:
    """One websocket's subscription: a filter and a bounded queue of (event id, event)."""

    accepts: Callable[[Event], bool]
    queue: asyncio.Queue[tuple[str, Event] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=2000)
    )
    overflowed: bool = False


class Hub:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._listeners: dict[int, set[Listener]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._signal_tasks: dict[int, asyncio.Task[None]] = {}
        self._frames: OrderedDict[tuple[str, int, str], str | None] = OrderedDict()

    async def publish(self, destination_id: int, event: Event) -> str:
        """Appends an event to the destination's stream; returns its id."""
        data = event_adapter.dump_json(event)
        event_id = await self.redis.xadd(
            keys.events(destination_id), {"e": data}, maxlen=STREAM_MAXLEN, approximate=True
        )
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    async def signal(self, destination_id: int, event: Event) -> None:
        """Sends an ephemeral event to the listeners of every worker, now, and keeps nothing."""
        await self.redis.publish(keys.signals(destination_id), event_adapter.dump_json(event))

    async def tail_id(self, destination_id: int) -> str:
        last: Any = await self.redis.xrevrange(keys.events(destination_id), count=1)
        return _decode(last[0][0]) if last else "0-0"

    async def backlog(self, destination_id: int, after: str) -> list[tuple[str, Event]] | None:
        """Events after ``after``; None when ``after`` is older than what the stream keeps."""
        stream = keys.events(destination_id)
        first: Any = await self.redis.xrange(stream, count=1)
        if first and parse_id(_decode(first[0][0])) > parse_id(after) and after != "0-0":
            return None
        rows: Any = await self.redis.xrange(stream, min=f"({after}")
        return [(eid, ev) for eid, ev in (_entry(row) for row in rows) if ev is not None]

    def subscribe(self, destination_id: int, listener: Listener) -> None:
        self._listeners.setdefault(destination_id, set()).add(listener)
        if destination_id not in self._tasks or self._tasks[destination_id].done():
            self._tasks[destination_id] = asyncio.create_task(
                self._read(destination_id), name=f"hub-reader-{destination_id}"
            )
        if destination_id not in self._signal_tasks or self._signal_tasks[destination_id].done():
            self._signal_tasks[destination_id] = asyncio.create_task(
                self._listen(destination_id), name=f"hub-signals-{destination_id}"
            )

    def unsubscribe(self, destination_id: int, listener: Listener) -> None:
        self._listeners.get(destination_id, set()).discard(listener)

    async def close(self) -> None:
        tasks = [*self._tasks.values(), *self._signal_tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._signal_tasks.clear()

    async def _listen(self, destination_id: int) -> None:
        """Hands each ephemeral signal of the destination to the local listeners."""
        channel = keys.signals(destination_id)
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None or message.get("type") != "message":
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
                log.warning("signal channel read failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, destination_id: int) -> None:
        stream = keys.events(destination_id)
        last = await self.tail_id(destination_id)
        while True:
            try:
                batches: Any = await self.redis.xread({stream: last}, block=5000, count=500)
            except (RedisConnectionError, ResponseError, OSError) as exc:
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
        for listener in list(self._listeners.get(destination_id, ())):
            if listener.overflowed or not listener.accepts(event):
                continue
            try:
                listener.queue.put_nowait((event_id, event))
            except asyncio.QueueFull:
                # A client too slow to keep up is told to reconnect and resume from its last id.
                listener.overflowed = True
                with contextlib.suppress(asyncio.QueueEmpty):
                    listener.queue.get_nowait()
                listener.queue.put_nowait(None)


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
