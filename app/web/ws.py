"""Websockets: the adviser's live inbox (the visitor's chat is app/web/visitor_ws.py).

Both resume from ``last_event_id``: the backlog since that id is sent first, then live events,
with no gap and no duplicate. Close codes (documented in docs/api.md):
4401 invalid or forged visitor token, no session, or the adviser's session ended (logged out,
user disabled) while the socket was open, 4403 origin not allowed,
4404 unknown chat account, 4408 client too slow (reconnect and resume), 4410 visitor token expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import starlette.websockets
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app import presence, repository
from app.assignment import assign_waiting
from app.deps import (
    SESSION_COOKIE,
    get_services,
    optional_user,
    same_origin,
    session_user,
    translator,
)
from app.events import (
    AudienceFields,
    Event,
    SessionEnded,
    Typing,
    VisitorFrame,
    event_adapter,
    staff_sees,
)
from app.i18n import Translator
from app.models import Account, Conversation, Role, User
from app.realtime import Listener, parse_id, stop
from app.security import session_tag
from app.services import Services
from app.socket_guard import BYTES_PER_CHAR, ENVELOPE_BYTES
from app.web.ws_reply import socket_reply
from connectors.webchat.meter import Every

# The client is gone: it said so (WebSocketDisconnect), or a send found the socket already
# closed (Starlette's WebSocketDisconnected; a plain RuntimeError before Starlette 1.x).
SOCKET_GONE: tuple[type[Exception], ...] = (
    WebSocketDisconnect,
    getattr(starlette.websockets, "WebSocketDisconnected", RuntimeError),
)

Renderer = Callable[[str, Event], dict[str, Any] | None]

log = logging.getLogger(__name__)
router = APIRouter()

TYPING_EVERY = 2.0  # seconds: one "typing" signal per conversation per socket at most
TYPING_SHOWN = 6.0  # seconds a "typing" notice stays up without news (the widget's rule)
SEEN_FOR = 15.0  # seconds a socket reuses its answer to "may this adviser see it?"
SEEN_KEPT = 500  # conversations a socket remembers that answer for
MAX_FRAME = 4096  # characters: no frame of the adviser's socket is longer
SESSION_CHECK = 10.0  # seconds between two looks at whether the socket's session still holds
# Seconds between two refreshes of an adviser's presence and of the conversation they view, well
# inside both entries' lives (presence.CONNECTED_TTL, presence.VIEWING_TTL).
PRESENCE_EVERY = 10.0


async def refuse(ws: WebSocket, code: int, reason: str) -> None:
    """Closes with a documented code; accepted first, since a refused handshake carries none."""
    await ws.accept()
    await ws.close(code=code, reason=reason)


def adviser_accepts(user: User) -> Callable[[Event], bool]:
    """Whether ``user`` receives an event live: exactly when they may read its conversation by
    HTTP (the rule of ``repository.can_see``), or it is for all the destination's staff. The
    removal notice ``conversation.left`` is addressed to the office a conversation left, and
    carries nothing of it. ``session.ended`` is never sent to anyone."""

    # Read once, not from the model at every event (this runs for each event of the
    # destination on each adviser socket); a socket's user does not change while it is open.
    manager, user_id, user_office_id = (
        user.role == Role.DESTINATION_MANAGER,
        user.id,
        user.office_id,
    )

    def accepts(event: Event) -> bool:
        if isinstance(event, SessionEnded):
            return False
        if event.staff:
            return True
        return staff_sees(
            manager=manager,
            user_id=user_id,
            user_office_id=user_office_id,
            office_id=event.office_id,
            assignee_id=event.assignee_id,
        )

    return accepts


class SessionWatch:
    """One adviser socket's filter, until its session ends: then it takes nothing more, drops
    what waits in its queue, and ``ended`` tells the socket to close with 4401.

    The end is heard in the event stream (``session.ended``, in order with the other events, so
    nothing published after a logout gets through) and, every ``SESSION_CHECK`` seconds, by
    reading the session and the user again."""

    def __init__(self, services: Services, user: User, session_id: str) -> None:
        self.services = services
        self.user = user
        self.user_id = user.id  # read at every event: kept apart from the model
        self.session_id = session_id
        self.tag = session_tag(session_id)
        self.allowed = adviser_accepts(user)
        self.ended = asyncio.Event()
        self.listener = Listener(accepts=self.accepts)

    def accepts(self, event: Event) -> bool:
        if self.ended.is_set():
            return False
        if (
            isinstance(event, SessionEnded)
            and event.user_id == self.user_id
            and event.session in ("", self.tag)
        ):
            self.end()
            return False
        return self.allowed(event)

    def end(self) -> None:
        """Stops taking events at once (this runs in the hub's reader, before the next one)."""
        self.ended.set()
        while not self.listener.queue.empty():
            self.listener.queue.get_nowait()

    async def holds(self) -> bool:
        """Whether the session still holds (``app.deps.session_user``) for the same user."""
        user = await session_user(self.services, self.session_id)
        return user is not None and user.id == self.user.id

    async def watch(self) -> None:
        """Looks again every few seconds: covers a stream entry this worker did not read."""
        while not self.ended.is_set():
            await asyncio.sleep(SESSION_CHECK)
            with contextlib.suppress(Exception):  # Redis away: the next look decides
                if not await self.holds():
                    self.end()


_RESUME_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")


def valid_resume_id(value: str | None) -> str | None:
    """A stream entry id Redis accepts (``<ms>-<seq>``, each below 2**64), else None."""
    if not value or not _RESUME_ID.match(value):
        return None
    ms, seq = parse_id(value)
    return value if ms < 2**64 and seq < 2**64 else None


async def receive_text(ws: WebSocket) -> str:
    """The next text frame. A binary frame closes the socket with 1003 (unsupported data):
    the protocol is JSON text only."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        await ws.close(code=1003, reason="text frames only")
        raise WebSocketDisconnect(1003, "text frames only")
    return str(text)


def _still_wanted() -> None:
    """Raises the cancellation of the current task if a library call swallowed it (redis-py
    does on Python 3.11 when the cancel lands as a reply arrives, see realtime.stop): the pump
    must not go on to wait for events for a socket that has ended."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def pump_events(
    ws: WebSocket,
    services: Services,
    destination_id: int,
    listener: Listener,
    last_event_id: str | None,
    render: Renderer,
    conversation_id: int | None = None,
    *,
    batch: bool = False,
) -> None:
    """Sends the backlog since ``last_event_id`` then live events, each once, in order.

    The backlog is bounded (``resume_backlog_max`` events, ``resume_max_age_seconds``): a
    client further behind gets ``{"type": "resync", "last_event_id": <tail>}`` and reloads
    what it shows. A chat visitor's is read from their conversation's own stream only
    (``conversation_id``; 0 while they have none).

    With ``batch`` (the client asked for it), the events waiting when the socket is free to
    send go out together, as one frame holding a JSON array of them (at most
    :data:`BATCH_MAX`, and :data:`BATCH_CHARS` of text but for the last one); one event alone
    is its own frame, as without. A message and the conversation line it changed arrive in
    one frame instead of two: one system call and one wake-up of the client instead of two,
    for each socket."""
    out = _Frames(ws, batch)
    sent = parse_id(last_event_id) if last_event_id else (0, 0)
    if last_event_id:
        settings = services.settings
        backlog = await services.hub.backlog(
            destination_id,
            last_event_id,
            limit=settings.resume_backlog_max,
            max_age=settings.resume_max_age_seconds,
            conversation_id=conversation_id,
        )
        _still_wanted()
        if backlog is None:
            tail = await services.hub.tail_id(destination_id)
            _still_wanted()
            await ws.send_json({"type": "resync", "last_event_id": tail})
        else:
            for event_id, event in backlog:
                if listener.accepts(event):
                    out.add(services.hub.frame_text(render, destination_id, event_id, event))
                    sent = parse_id(event_id)
                if out.full:
                    await out.send()
            await out.send()
    while True:
        item = await listener.queue.get()
        if listener.closed:
            if listener.ending is not None:
                await ws.close(*listener.ending)
            return
        # What else waits is taken too (with ``batch``): nothing can close the listener or
        # queue more before this loop awaits again.
        while True:
            if item is None:  # the hub gave up on this client: it resumes from what it got
                await out.send()
                await ws.close(code=4408, reason="too slow: reconnect and resume")
                return
            event_id, payload = item
            if payload is None:  # CLOSED (the listener closed meanwhile, said above)
                return
            event = payload
            if not event_id:  # an ephemeral signal: outside the resumable order
                out.add(services.hub.frame_text(render, destination_id, event_id, event))
            elif parse_id(event_id) > sent:
                out.add(services.hub.frame_text(render, destination_id, event_id, event))
                sent = parse_id(event_id)
            if out.full or listener.queue.empty():
                break
            item = listener.queue.get_nowait()
        await out.send()


# A frame of events together (a socket that asked for them) takes at most this many, and no more
# once its text has reached BATCH_CHARS: a long thread's backlog comes in several frames.
BATCH_MAX = 64
BATCH_CHARS = 256_000


class _Frames:
    """The rendered frames a pump has to send next: each in its own websocket frame, or, for
    a client that asked (``batch``), together in one frame holding a JSON array."""

    def __init__(self, ws: WebSocket, batch: bool) -> None:
        self.ws = ws
        self.batch = batch
        self.texts: list[str] = []
        self.chars = 0

    @property
    def full(self) -> bool:
        """Whether to send now: a frame each without ``batch``, else at BATCH_MAX events or
        BATCH_CHARS characters."""
        if not self.batch:
            return bool(self.texts)
        return len(self.texts) >= BATCH_MAX or self.chars >= BATCH_CHARS

    def add(self, text: str | None) -> None:
        if text is not None:
            self.texts.append(text)
            self.chars += len(text)

    async def send(self) -> None:
        texts, self.texts, self.chars = self.texts, [], 0
        if self.batch and len(texts) > 1:
            await self.ws.send_text("[" + ",".join(texts) + "]")
            return
        for text in texts:
            await self.ws.send_text(text)


def wants_batches(ws: WebSocket) -> bool:
    """Whether the client asked for events together (``?batch=1``, docs/api.md)."""
    return ws.query_params.get("batch") == "1"


def adviser_frame(event_id: str, event: Event) -> dict[str, Any] | None:
    """What an adviser's inbox receives of an event (who may receive it is checked before)."""
    if isinstance(event, VisitorFrame):
        return None  # the visitor's own
    frame: dict[str, Any] = event_adapter.dump_python(event, mode="json")
    if event_id:
        frame["event_id"] = event_id
    return frame


class AdviserFrames:
    """What one adviser's socket says besides pings: which conversation they view, and that
    they type. Each is checked against what the adviser may see (the answer kept a few seconds
    per socket), then signalled to the conversation's audience; nothing is stored in SQL. And
    their replies (app.web.ws_reply), stored as ``POST .../messages`` stores them."""

    def __init__(self, services: Services, user: User, t: Translator, session_id: str) -> None:
        assert user.id is not None
        self.services = services
        self.session_id = session_id
        self.user = user
        self.user_id = user.id
        self.t = t
        self.viewing: tuple[int, AudienceFields] | None = None
        self.typed: dict[int, tuple[float, AudienceFields]] = {}  # last "typing" signal sent
        self._seen: dict[int, tuple[float, AudienceFields | None]] = {}

    def error(self, code: str) -> dict[str, Any]:
        return {"type": "error", "code": code, "message": self.t(f"ws.error.{code}")}

    async def audience(self, conversation_id: int) -> AudienceFields | None:
        """The conversation's audience if the adviser may see it, else None."""
        now = time.monotonic()
        hit = self._seen.get(conversation_id)
        if hit is not None and now - hit[0] < SEEN_FOR:
            return hit[1]
        found: AudienceFields | None = None
        async with self.services.db.session(quick=True) as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is not None and repository.can_see(self.user, conversation):
                account = await session.get(Account, conversation.account_id)
                assert account is not None
                found = repository.audience(conversation, account)
        if len(self._seen) > SEEN_KEPT:
            self._seen.clear()
        self._seen[conversation_id] = (now, found)
        return found

    async def handle(self, raw: str) -> dict[str, Any] | None:
        """Acts on one frame; returns the frame to send back (an error, a reply's outcome),
        if any."""
        frame = parse_frame(raw, self.services.settings.max_message_chars)
        if frame is None:
            return self.error("malformed")
        kind = frame.get("type")
        if kind == "ping":
            return None
        if kind == "reply":
            return await socket_reply(self.services, self.session_id, self.t, frame)
        if kind not in ("viewing", "typing"):
            return self.error("unknown_type")
        if "conversation_id" not in frame:
            return self.error("malformed")
        conversation_id = frame["conversation_id"]
        active = frame.get("active", True)
        if kind == "viewing" and conversation_id is None:
            await self.leave()
            return None
        if not is_id(conversation_id) or not isinstance(active, bool):
            return self.error("malformed")
        assert isinstance(conversation_id, int)
        audience = await self.audience(conversation_id)
        if audience is None:
            return self.error("not_found")
        if kind == "viewing":
            await self.view(conversation_id, audience)
        else:
            await self.typing(conversation_id, audience, active)
        return None

    async def view(self, conversation_id: int, audience: AudienceFields) -> None:
        destination_id = self.user.destination_id
        if self.viewing is not None and self.viewing[0] != conversation_id:
            await self.leave()
        await presence.view(self.services, destination_id, conversation_id, self.user_id)
        if self.viewing is None:  # the 20-second refreshes tell nobody anything new
            self.viewing = (conversation_id, audience)
            await presence.signal_viewing(self.services, audience, self.user, active=True)

    async def still_viewing(self) -> None:
        """Keeps the open conversation's viewer entry while the socket lives, even when a
        background tab's timers are slowed past the 20-second refresh."""
        if self.viewing is not None:
            conversation_id = self.viewing[0]
            await presence.view(
                self.services, self.user.destination_id, conversation_id, self.user_id
            )

    async def leave(self) -> None:
        if self.viewing is None:
            return
        conversation_id, audience = self.viewing
        self.viewing = None
        await presence.unview(
            self.services, self.user.destination_id, conversation_id, self.user_id
        )
        await presence.signal_viewing(self.services, audience, self.user, active=False)

    async def typing(self, conversation_id: int, audience: AudienceFields, active: bool) -> None:
        now = time.monotonic()
        last = self.typed.get(conversation_id)
        if active:
            if last is not None and now - last[0] < TYPING_EVERY:
                return  # throttled: one signal per conversation every 2 s
            # Notices long gone by themselves need no "stopped" later: forget them.
            for stale in [c for c, (t, _) in self.typed.items() if now - t > TYPING_SHOWN]:
                del self.typed[stale]
            self.typed[conversation_id] = (now, audience)
        elif last is None:
            return  # nobody was told it typed
        else:
            del self.typed[conversation_id]
        await self.services.hub.signal(
            self.user.destination_id,
            Typing(
                **audience, side="adviser", user_id=self.user_id, name=self.user.name, active=active
            ),
        )

    async def close(self) -> None:
        """The socket ended: it views nothing and types nothing any more."""
        await self.leave()
        now = time.monotonic()
        for conversation_id, (at, audience) in list(self.typed.items()):
            if now - at <= TYPING_SHOWN:  # an older notice has gone by itself
                await self.typing(conversation_id, audience, False)


def parse_frame(raw: str, max_message_chars: int) -> dict[str, Any] | None:
    """A frame's JSON object; None when it is not one, or longer than any frame can be (a
    reply of ``max_message_chars``, every character escaped, and its envelope)."""
    if len(raw) > max(MAX_FRAME, max_message_chars * BYTES_PER_CHAR + ENVELOPE_BYTES):
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


@router.websocket("/ws/adviser")
async def adviser_socket(ws: WebSocket) -> None:
    services = get_services(ws)
    user = await optional_user(ws)
    if not same_origin(ws):
        await refuse(ws, 4403, "origin not allowed")
        return
    if user is None or user.id is None:
        await refuse(ws, 4401, "login required")
        return
    await ws.accept()
    watch = SessionWatch(services, user, ws.cookies.get(SESSION_COOKIE, ""))
    listener = watch.listener
    destination_id = user.destination_id
    services.hub.subscribe(destination_id, listener)
    frames = AdviserFrames(services, user, translator(ws, user), ws.cookies.get(SESSION_COOKIE, ""))

    pump: asyncio.Task[None] | None = None
    ended = asyncio.create_task(watch.ended.wait())
    watcher = asyncio.create_task(watch.watch())
    connected = False
    try:
        # Logged out between the check above and the subscription: its stream entry was missed.
        if not await watch.holds():
            await ws.close(code=4401, reason="session ended")
            return
        tail = await services.hub.tail_id(destination_id)
        resume = valid_resume_id(ws.query_params.get("last_event_id"))
        await presence.connect(services, user)
        connected = True
        chosen = await presence.chosen(services, destination_id, [user.id])
        await presence.announce(services, user, chosen[user.id])
        if user.office_id is not None:  # someone came online: the office queue may move
            await assign_waiting(services, destination_id, user.office_id)
        batch = wants_batches(ws)
        hello: dict[str, Any] = {"type": "hello", "last_event_id": resume or tail}
        if batch:
            hello["batch"] = True
        await ws.send_json(hello)
        pump = asyncio.create_task(
            pump_events(ws, services, destination_id, listener, resume, adviser_frame, batch=batch)
        )
        # Presence is refreshed once per period, not at every frame (a reply, a keystroke's
        # typing): frames closer than that say nothing new, and each refresh is Redis writes.
        keep = Every(PRESENCE_EVERY)
        keep.due(time.monotonic())  # connecting marked them
        while True:
            receive = asyncio.create_task(receive_text(ws))  # binary: close 1003
            done, _ = await asyncio.wait(
                {receive, pump, ended}, timeout=30, return_when=asyncio.FIRST_COMPLETED
            )
            if ended in done:
                receive.cancel()
                pump.cancel()
                await ws.close(code=4401, reason="session ended")
                break
            if pump in done:
                receive.cancel()
                break
            if receive in done:
                error = await frames.handle(receive.result())
                if error is not None:
                    await ws.send_json(error)
            else:
                receive.cancel()
            if keep.due(time.monotonic()):
                await presence.still_connected(services, user)
                await frames.still_viewing()
    except SOCKET_GONE:
        pass
    finally:
        for task in (pump, ended, watcher):
            await stop(task)  # a cancellation redis-py swallowed is sent again
        services.hub.unsubscribe(destination_id, listener)
        # Redis gone: the entries lapse by themselves.
        with contextlib.suppress(Exception):
            await frames.close()
        with contextlib.suppress(Exception):
            if connected and await presence.disconnect(services, user):
                await presence.announce(services, user, "offline")
