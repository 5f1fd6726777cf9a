"""The visitor's chat websocket (the widget on an office's website).

Resumes from ``last_event_id`` like the adviser's socket (see :mod:`app.web.ws` for the close
codes): the backlog since that id first — read from the visitor's own stream, bounded — then
live events, each once. Besides those, this socket closes with 4429 (too many sockets from the
address, new chats, open tabs of one visitor, or frames), 4451 (blocked by the destination,
:mod:`app.moderation`) and 1003 (a binary frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import (
    files,
    moderation,
    repository,
    visitor_data,
    visitor_hello,
    visitor_presence,
    visitor_queue,
    widget_closing,
)
from app.deps import get_services, visitor_language
from app.events import (
    AudienceFields,
    ConversationChanged,
    Event,
    MessageCreated,
    Typing,
    VisitorFrame,
    VisitorPresence,
)
from app.i18n import gettext, visitor_catalog
from app.inbox import ClosedAccountError, Inbox
from app.models import Account, Conversation, ConversationStatus, Destination, Office
from app.realtime import Listener, stop
from app.services import Services
from app.settings import Settings
from app.socket_guard import Bucket, SocketGuard
from app.store_slots import Busy
from app.timefmt import human_when
from app.visitor_order import SendOrder
from app.web.visitor_admission import Admitted, admit
from app.web.ws import SOCKET_GONE, pump_events, receive_text, valid_resume_id, wants_batches
from connectors.webchat.frames import (
    FrameError,
    PingFrame,
    TypingFrame,
    VisitorMessageFrame,
    parse_frame,
    to_inbound,
)
from connectors.webchat.meter import Every, FrameMeter, TypingMeter

log = logging.getLogger(__name__)
router = APIRouter()

QUEUE_REFRESH = 15  # seconds between two looks at a waiting visitor's place in the queue
TURNED_AWAY_KEPT = 20  # the latest client ids refused on one socket
PENDING_KEPT = 32  # a socket's messages waiting to be stored; one more is told "busy"
WRITER_DRAIN = 10.0  # seconds a closed socket's message being stored is given to finish
TOUCH_EVERY = 10  # seconds: frames more frequent than this say nothing new about presence


def visitor_frame(event_id: str, event: Event) -> dict[str, Any] | None:
    """What a visitor may see of an event: messages of their conversation and an adviser
    typing in it, nothing internal."""
    if isinstance(event, Typing) and event.side == "adviser":
        return {"type": "typing", "name": event.name, "active": event.active}
    if isinstance(event, VisitorFrame):  # addressed to this visitor (the listener checked)
        return {**event.frame, "event_id": event_id} if event_id else dict(event.frame)
    if not isinstance(event, MessageCreated) or event.message.direction == "note":
        return None
    m = event.message
    return {
        "type": "message",
        "event_id": event_id,
        "message": {
            "id": m.id,
            "author": m.author_kind,
            "author_name": m.author_name if m.author_kind == "adviser" else "",
            "text": m.text,
            "created_at": m.created_at.isoformat(),
            "client_id": m.client_id,
            "attachments": files.visitor_attachments(m),
        },
    }


@router.websocket("/ws/visitor")
async def visitor_socket(ws: WebSocket) -> None:
    """The widget's socket: admitted first (:mod:`app.web.visitor_admission`), then live."""
    services = get_services(ws)
    admitted = await admit(ws, services)
    if admitted is None:
        return
    try:
        await _live(ws, services, admitted, visitor_language(ws))
    finally:
        await admitted.leave()


async def _live(ws: WebSocket, services: Services, admitted: Admitted, lang: str) -> None:
    """An admitted visitor's socket: hello, the backlog or their history, then live."""
    settings = services.settings
    account, token, visitor_id, ip = (
        admitted.account,
        admitted.token,
        admitted.visitor_id,
        admitted.ip,
    )
    async with services.db.session(quick=True) as session:
        answering = await _who_answers(services, session, account, lang)
    await ws.accept()
    visitor = _Visitor(ws, services, account, visitor_id, admitted.guard)
    listener = Listener(accepts=visitor.accepts, visitor_key=visitor.key)
    services.hub.subscribe(account.destination_id, listener)
    watch: asyncio.Task[None] | None = None
    pump: asyncio.Task[None] | None = None
    writer: _Writer | None = None
    try:
        first_socket = await visitor_presence.opened(
            services, account.destination_id, account.id or 0, visitor_id
        )
        standing = await visitor.refresh()
        if first_socket:
            await visitor.signal_presence(live=True)
        tail = await services.hub.tail_id(account.destination_id)
        resume = valid_resume_id(ws.query_params.get("last_event_id"))
        batch = wants_batches(ws)
        history = [] if resume else await _visitor_history(services, account, visitor_id)
        await ws.send_json(
            {
                "type": "hello",
                "token": token,
                "last_event_id": resume or tail,
                "messages": history,
                "office": answering[0],
                "next_answer": answering[1],
                "lang": lang,
                "strings": visitor_catalog(lang, "widget."),
                "privacy": gettext(lang, "widget.privacy", days=settings.retention_days),
                "privacy_url": await visitor_data.privacy_url(services, account, lang),
                # Each part of the visitor's side: look, offline, survey, data (app.visitor_hello).
                **await visitor_hello.extras(services, account, visitor_id, lang),
                **({"batch": True} if batch else {}),
            }
        )
        await visitor.send_standing(standing)
        watch = asyncio.create_task(visitor.watch_queue())
        pump = asyncio.create_task(
            pump_events(
                ws,
                services,
                account.destination_id,
                listener,
                resume,
                visitor_frame,
                conversation_id=visitor.audience["conversation_id"] if visitor.audience else 0,
                batch=batch,
            )
        )
        writer = _Writer(visitor, Inbox(services), ip, lang)
        frames = FrameMeter(settings.socket_frames_burst, settings.socket_frames_per_second)
        while not pump.done() and not visitor.closing:
            raw = await receive_text(ws)
            arrived = time.monotonic()
            if not frames.admit(arrived):
                await ws.close(code=4429, reason="too many frames: slow down")
                break
            await _visitor_frame(visitor, writer, raw, lang, arrived)
    except SOCKET_GONE:
        pass
    finally:
        # Unsubscribing wakes the pump for good, even if its cancellation below is lost.
        services.hub.unsubscribe(account.destination_id, listener)
        if writer is not None:
            await writer.finish()
        await stop(pump)
        await stop(watch)
        await visitor.gone()


class _Visitor:
    """One visitor socket's live side: presence, typing, and their place in the queue."""

    def __init__(
        self,
        ws: WebSocket,
        services: Services,
        account: Account,
        visitor_id: str,
        guard: SocketGuard,
    ) -> None:
        self.ws = ws
        self.guard = guard
        self.services = services
        self.account = account
        self.visitor_id = visitor_id
        self.key = f"{account.key}:{visitor_id}"
        self.audience: AudienceFields | None = None  # None until their first message
        self.typing = TypingMeter()
        self.touch = Every(TOUCH_EVERY)
        self.touch.due(time.monotonic())  # opening the socket touched them
        self.wake = asyncio.Event()
        self.sent: visitor_queue.Standing | None = None
        self.known = False  # the conversation's state below was read or heard at least once
        self.queued: tuple[int, int] | None = None  # (conversation id, office id) while queued
        self.first_look = False
        self.wrote = False  # a message of this socket was stored: the conversation exists
        # Client ids of this socket's messages refused "busy": sent again, they are let in
        # where a newcomer's message is refused (app.store_slots).
        # (A list, empty on almost every socket: an empty deque would weigh ten times more.)
        self.turned_away: list[str] = []
        self.order = SendOrder()  # later messages wait for a refused one (app.visitor_order)
        self.closing = False  # closed by the server (a block, the widget disabled) meanwhile

    def opens_conversation(self) -> bool:
        """Whether the next message opens a new conversation (none read at the socket's start,
        none heard of since, none written from this socket)."""
        return self.audience is None and not self.wrote

    def accepts(self, event: Event) -> bool:
        """The listener's filter: this visitor's events, less their own signals."""
        if event.visitor_key != self.key:
            return False
        if isinstance(event, ConversationChanged):
            # Assigned, transferred, resolved or just created: what the event says is the
            # conversation's state now, so the queue is looked at again without a database read.
            self.audience = AudienceFields(
                conversation_id=event.conversation_id,
                office_id=event.office_id,
                assignee_id=event.assignee_id,
                visitor_key=event.visitor_key,
            )
            c = event.conversation
            self._queued(c.id, c.office_id, c.status, c.assignee_id)
            self.wake.set()
        return not isinstance(event, VisitorPresence) and not (
            isinstance(event, Typing) and event.side == "visitor"
        )

    def _queued(
        self, conversation_id: int, office_id: int, status: str, assignee_id: int | None
    ) -> None:
        waiting = status == ConversationStatus.OPEN and assignee_id is None
        queued = (conversation_id, office_id) if waiting else None
        if queued is not None and queued != self.queued:
            self.first_look = True  # just joined this queue: its first standing is read now
        self.queued = queued
        self.known = True

    async def refresh(self) -> visitor_queue.Standing:
        """Where the visitor stands in the queue (their conversation is read once, then
        followed through its events)."""
        if not self.known:
            async with self.services.db.session(quick=True) as session:
                conversation = await visitor_queue.conversation_of(
                    session, self.account, self.visitor_id
                )
                if conversation is not None and conversation.id is not None:
                    self.audience = repository.audience(conversation, self.account)
                    self._queued(
                        conversation.id,
                        conversation.office_id,
                        conversation.status,
                        conversation.assignee_id,
                    )
        if self.queued is None:
            return visitor_queue.NOT_WAITING
        fresh, self.first_look = self.first_look, False
        return await visitor_queue.shared_standing(
            self.services, self.account, *self.queued, fresh=fresh
        )

    async def send_standing(self, standing: visitor_queue.Standing) -> None:
        if standing != self.sent:
            await self.ws.send_json(standing.frame())
            self.sent = standing

    async def watch_queue(self) -> None:
        """Tells a waiting visitor their place, every few seconds and at once on a change."""
        while True:
            waiting = self.sent is not None and self.sent.position > 0
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
            # cancellation that ends the socket, and this loop would then outlive it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUEUE_REFRESH if waiting else None):
                    await self.wake.wait()
            self.wake.clear()
            try:
                await self.send_standing(await self.refresh())
            except SOCKET_GONE:
                return
            except Exception:  # the queue view must not end the chat; the next look retries
                log.exception("queue standing of visitor %s failed", self.key)

    async def seen(self) -> None:
        """A frame arrived: the visitor is still here (metered: one Redis write per period)."""
        if self.touch.due(time.monotonic()):
            await visitor_presence.still_here(
                self.services, self.account.destination_id, self.account.id or 0, self.visitor_id
            )
            await self.guard.tab_alive(self.account.destination_id, self.key)

    async def typed(self, active: bool) -> None:
        """Passes the visitor's typing on to advisers, metered, once they have a conversation."""
        if self.audience is not None and self.typing.admit(active, time.monotonic()):
            await self._signal(Typing(**self.audience, side="visitor", active=active))

    async def signal_presence(self, live: bool) -> None:
        if self.audience is not None:
            await self._signal(VisitorPresence(**self.audience, live=live))

    async def gone(self) -> None:
        """The socket ended: stopped typing, and not live any more unless another tab is."""
        try:
            if self.typing.stop() and self.audience is not None:
                await self._signal(Typing(**self.audience, side="visitor", active=False))
            if await visitor_presence.closed(
                self.services, self.account.destination_id, self.account.id or 0, self.visitor_id
            ):
                await self.signal_presence(live=False)
        except Exception:  # the live entry expires on its own (LIVE_TTL)
            log.exception("visitor %s left without saying so", self.key)

    async def _signal(self, event: Typing | VisitorPresence) -> None:
        await self.services.hub.signal(self.account.destination_id, event)


async def _who_answers(
    services: Services, session: AsyncSession, account: Account, lang: str
) -> tuple[str, str]:
    """(the office answering now, "") or ("", when the next answer can be expected)."""
    now = services.clock.now()
    decision = await services.router.decide(session, account, now)
    if decision.reason != "nobody_on_duty":
        office = await session.get(Office, decision.office_id)
        return (office.name if office else "", "")
    destination = await session.get(Destination, account.destination_id)
    if decision.next_answer_at is None or destination is None:
        return ("", "")
    when = human_when(decision.next_answer_at, now, destination.timezone, lang)
    return ("", gettext(lang, "widget.next_answer", when=when))


async def _visitor_history(services: Services, account: Account, visitor_id: str) -> list[Any]:
    async with services.db.session() as session:
        conversation = (
            await session.exec(
                select(Conversation).where(
                    Conversation.account_id == account.id, Conversation.thread_key == visitor_id
                )
            )
        ).first()
        if conversation is None or conversation.id is None:
            return []
        rows = await repository.messages_out(session, conversation.id)
    frames = []
    for m in rows:
        frame = visitor_frame(
            "", MessageCreated(conversation_id=m.conversation_id, office_id=0, message=m)
        )
        if frame is not None:
            frames.append(frame["message"])
    return frames


async def _error(ws: WebSocket, lang: str, code: str, client_id: str = "", **extra: Any) -> None:
    await ws.send_json(
        {
            "type": "error",
            "code": code,
            "client_id": client_id,
            "message": gettext(lang, f"widget.error.{code}"),
            **extra,
        }
    )


async def _visitor_frame(
    visitor: _Visitor, writer: _Writer, raw: str, lang: str, arrived: float
) -> None:
    """One frame, as it arrives: a ping or typing at once, a message queued for the writer
    (so the frames after it, and how long it waits, are seen while earlier ones are stored).

    The frame says the visitor is still here (:meth:`_Visitor.seen`) once it is handled: a
    message's store starts before those Redis writes, not after them."""
    ws, services = visitor.ws, visitor.services
    try:
        frame = parse_frame(raw, services.settings.max_message_chars)
    except FrameError as exc:
        await _error(ws, lang, exc.code, _client_id_of(raw))
        return
    if isinstance(frame, PingFrame):
        await ws.send_json({"type": "pong"})
    elif isinstance(frame, TypingFrame):  # metered in memory: a flood costs no Redis hit
        await visitor.typed(frame.active)
    else:
        await _message_frame(visitor, writer, frame, lang, arrived)
    await visitor.seen()


async def _message_frame(
    visitor: _Visitor, writer: _Writer, frame: VisitorMessageFrame, lang: str, arrived: float
) -> None:
    """A message: queued for the writer, or refused at once (see :func:`_visitor_frame`)."""
    services = visitor.services
    seq, held = visitor.order.arrived(frame.client_id)
    if held:  # an earlier message was refused: it must come back first
        await _refused(visitor, lang, frame.client_id, seq, held.code, held.retry_after)
        return
    again = frame.client_id in visitor.turned_away  # refused before: let in further behind
    try:
        services.store_slots.check(again)  # behind already: refused now, not after a wait
    except Busy as busy:
        await _refused(visitor, lang, frame.client_id, seq, "busy", busy.retry_after)
        return
    if not writer.add(arrived, seq, frame):  # a socket sending far faster than it is stored
        wait = services.store_slots.refusal().retry_after
        await _refused(visitor, lang, frame.client_id, seq, "busy", wait)


async def _refused(
    visitor: _Visitor,
    lang: str,
    client_id: str,
    seq: int,
    code: str,
    retry_after: float | None = None,
) -> None:
    """Refused for a while ("busy", "rate_limited", "unavailable"): the widget keeps the
    message and sends it again after ``retry_after`` (or its own delay), and the socket's
    later messages are refused until this one comes back (app.visitor_order)."""
    visitor.order.refused(client_id, seq, code, retry_after)
    if code == "busy" and client_id not in visitor.turned_away:
        visitor.turned_away = [*visitor.turned_away, client_id][-TURNED_AWAY_KEPT:]
    extra = {} if retry_after is None else {"retry_after": round(retry_after, 1)}
    await _error(visitor.ws, lang, code, client_id, **extra)


class _Writer:
    """Stores one socket's messages one after another, in the order they came, from a task
    started while some are waiting (an idle socket has none). Each keeps the moment it
    arrived: a message that has waited past the limit behind the worker's backlog is refused
    "busy" (app.store_slots), wherever it waited."""

    def __init__(self, visitor: _Visitor, inbox: Inbox, ip: str, lang: str) -> None:
        self.visitor, self.inbox, self.ip, self.lang = visitor, inbox, ip, lang
        self.pending: list[tuple[float, int, VisitorMessageFrame]] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, arrived: float, seq: int, frame: VisitorMessageFrame) -> bool:
        """Queues ``frame`` (``seq``: its number on the socket); False when too many of the
        socket's messages wait already."""
        if len(self.pending) >= PENDING_KEPT:
            return False
        self.pending.append((arrived, seq, frame))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        return True

    async def _run(self) -> None:
        visitor = self.visitor
        while self.pending and not visitor.closing:
            arrived, seq, frame = self.pending.pop(0)
            try:
                await _store_message(visitor, self.inbox, self.ip, frame, self.lang, arrived, seq)
            except SOCKET_GONE:
                return  # not acknowledged: the widget sends it again on its next socket
            except Exception:
                # The socket stays; the widget sends the same client_id again ("unavailable").
                log.exception("message %s of visitor %s failed", frame.client_id, visitor.key)
                with contextlib.suppress(*SOCKET_GONE):
                    await _refused(visitor, self.lang, frame.client_id, seq, "unavailable")

    async def finish(self) -> None:
        """The socket has ended: the message being stored is given time to finish (its
        events are owed to the advisers); the ones not started are dropped, unacknowledged, so
        the widget sends them again."""
        self.pending.clear()
        if self.task is not None:
            await asyncio.wait({self.task}, timeout=WRITER_DRAIN)
            await stop(self.task)


async def _store_message(
    visitor: _Visitor,
    inbox: Inbox,
    ip: str,
    frame: VisitorMessageFrame,
    lang: str,
    arrived: float,
    seq: int,
) -> None:
    ws, services, account = visitor.ws, visitor.services, visitor.account
    settings = services.settings

    # An earlier message of the socket was refused while this one waited: it goes after it.
    if held := visitor.order.behind(frame.client_id, seq):
        await _refused(visitor, lang, frame.client_id, seq, held.code, held.retry_after)
        return
    again = frame.client_id in visitor.turned_away  # refused before: let in further behind
    try:
        # The worker is behind: refused before any Redis look-up.
        services.store_slots.check(again, since=arrived)
    except Busy as busy:
        await _refused(visitor, lang, frame.client_id, seq, "busy", busy.retry_after)
        return
    if not await visitor.guard.admit(*_message_buckets(visitor, ip, settings)):
        await _refused(visitor, lang, frame.client_id, seq, "rate_limited")  # sent again later
        return
    # A visitor (or address) blocked since the socket opened: refused like a new socket (4451).
    if blocked := await moderation.refusal(services, account, visitor.visitor_id, ip):
        visitor.closing = True
        await ws.close(code=moderation.BLOCKED_CLOSE, reason=blocked)
        return
    inbound = to_inbound(
        frame,
        account=account.key,
        visitor_id=visitor.visitor_id,
        received_at=services.clock.now(),
        language=lang,
        site=ws.headers.get("origin", ""),  # the page's site, shown in the visitor's profile
    )
    # The address lets a manager block it (app.moderation); kept on the conversation only.
    inbound = dataclasses.replace(inbound, metadata={**inbound.metadata, "ip": ip})
    try:
        async with services.store_slots.slot(again, since=arrived):
            result = await inbox.ingest(inbound, live=True)  # their widget is open: this socket
    except Busy as busy:  # behind since the check above
        await _refused(visitor, lang, frame.client_id, seq, "busy", busy.retry_after)
        return
    except ClosedAccountError:  # the widget was disabled since the socket opened
        visitor.closing = True
        await ws.close(code=widget_closing.CLOSE_CODE, reason=widget_closing.CLOSE_REASON)
        return
    except Exception:
        # Stored or not, the socket stays: the widget sends the same client_id again, and the
        # ingest's dedupe answers a stored one with its id, so every stored message gets its ack.
        log.exception("message %s of visitor %s not ingested", frame.client_id, visitor.key)
        await _refused(visitor, lang, frame.client_id, seq, "unavailable")
        return
    visitor.wrote = True
    visitor.order.done(frame.client_id)
    if again:
        with contextlib.suppress(ValueError):  # unless pushed out by later refusals meanwhile
            visitor.turned_away.remove(frame.client_id)
    visitor.typing.stop()  # the widget says it stopped too; the next keystroke starts afresh
    visitor.wake.set()  # a first message opens a conversation: the visitor may now wait
    await ws.send_json(
        {"type": "ack", "client_id": frame.client_id, "message_id": result.message_id}
    )


def _message_buckets(visitor: _Visitor, ip: str, settings: Settings) -> list[Bucket]:
    """The limits one message is held to: the visitor's and the address's message rates, and
    when it opens a conversation, the address's and the widget's conversation rates (a flood of
    new conversations is what pushes real visitors off the advisers' list). Token buckets: a
    refused message takes nothing, so a retrying crowd does not keep itself out."""
    per_minute = 60 / max(1, settings.rate_window_seconds)
    buckets = [
        Bucket(
            "msg-visitor", visitor.key, settings.visitor_rate, settings.visitor_rate * per_minute
        ),
        Bucket("msg-ip", ip, settings.visitor_ip_rate, settings.visitor_ip_rate * per_minute),
    ]
    if visitor.opens_conversation():
        buckets += [
            Bucket(
                "conversation-ip",
                ip,
                settings.conversation_ip_burst,
                settings.conversation_ip_per_minute,
            ),
            Bucket(
                "conversation-widget",
                visitor.account.key,
                settings.conversation_widget_burst,
                settings.conversation_widget_per_minute,
            ),
        ]
    return buckets


def _client_id_of(raw: str) -> str:
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        value = json.loads(raw).get("client_id", "")
        if isinstance(value, str) and len(value) <= 64:
            return value
    return ""
