"""Websockets: the adviser's live inbox and the visitor's chat.

Both resume from ``last_event_id``: the backlog since that id is sent first, then live events,
with no gap and no duplicate. Close codes (documented in docs/api.md):
4401 invalid or forged visitor token or no session, 4403 origin not allowed,
4404 unknown chat account, 4408 client too slow (reconnect and resume), 4410 visitor token expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app import keys
from app.assignment import assign_waiting
from app.deps import get_services, optional_user, same_origin
from app.events import Event, event_adapter
from app.models import Role, User
from app.realtime import Listener, parse_id
from app.services import Services

Renderer = Callable[[str, Event], dict[str, Any] | None]

log = logging.getLogger(__name__)
router = APIRouter()

PRESENCE_TTL = 90


async def refuse(ws: WebSocket, code: int, reason: str) -> None:
    """Closes with a documented code; accepted first, since a refused handshake carries none."""
    await ws.accept()
    await ws.close(code=code, reason=reason)


def adviser_accepts(user: User) -> Any:
    def accepts(event: Event) -> bool:
        if user.role == Role.DESTINATION_MANAGER or event.staff:
            return True
        return user.office_id in (event.office_id, event.previous_office_id) or (
            event.assignee_id is not None and event.assignee_id == user.id
        )

    return accepts


def valid_resume_id(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parse_id(value)
    except ValueError:
        return None
    return value


async def pump_events(
    ws: WebSocket,
    services: Services,
    destination_id: int,
    listener: Listener,
    last_event_id: str | None,
    render: Renderer,
) -> None:
    """Sends the backlog since ``last_event_id`` then live events, each once, in order."""
    sent = parse_id(last_event_id) if last_event_id else (0, 0)
    if last_event_id:
        backlog = await services.hub.backlog(destination_id, last_event_id)
        if backlog is None:
            await ws.send_json({"type": "resync"})
        else:
            for event_id, event in backlog:
                if listener.accepts(event):
                    text = services.hub.frame_text(render, destination_id, event_id, event)
                    if text is not None:
                        await ws.send_text(text)
                    sent = parse_id(event_id)
    while True:
        item = await listener.queue.get()
        if item is None:
            await ws.close(code=4408, reason="too slow: reconnect and resume")
            return
        event_id, event = item
        if not event_id:  # an ephemeral signal: outside the resumable order
            text = services.hub.frame_text(render, destination_id, event_id, event)
            if text is not None:
                await ws.send_text(text)
            continue
        if parse_id(event_id) <= sent:
            continue
        text = services.hub.frame_text(render, destination_id, event_id, event)
        if text is not None:
            await ws.send_text(text)
        sent = parse_id(event_id)


def adviser_frame(event_id: str, event: Event) -> dict[str, Any] | None:
    """What an adviser's inbox receives of an event (who may receive it is checked before)."""
    frame: dict[str, Any] = event_adapter.dump_python(event, mode="json")
    if event_id:
        frame["event_id"] = event_id
    return frame


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
    listener = Listener(accepts=adviser_accepts(user))
    destination_id = user.destination_id
    services.hub.subscribe(destination_id, listener)
    online = keys.online(destination_id)

    pump: asyncio.Task[None] | None = None
    try:
        tail = await services.hub.tail_id(destination_id)
        resume = valid_resume_id(ws.query_params.get("last_event_id"))
        await services.redis.zadd(
            online, {str(user.id): services.clock.now().timestamp() + PRESENCE_TTL}
        )
        if user.office_id is not None:  # someone came online: the office queue may move
            await assign_waiting(services, destination_id, user.office_id)
        await ws.send_json({"type": "hello", "last_event_id": resume or tail})
        pump = asyncio.create_task(
            pump_events(ws, services, destination_id, listener, resume, adviser_frame)
        )
        while True:
            receive = asyncio.create_task(ws.receive_text())
            done, _ = await asyncio.wait(
                {receive, pump}, timeout=30, return_when=asyncio.FIRST_COMPLETED
            )
            if pump in done:
                receive.cancel()
                break
            if receive in done:
                raw = receive.result()
                if raw != '{"type":"ping"}':
                    await ws.send_json({"type": "error", "code": "unknown_type"})
            else:
                receive.cancel()
            expiry = services.clock.now().timestamp() + PRESENCE_TTL
            await services.redis.zadd(online, {str(user.id): expiry})
    except WebSocketDisconnect:
        pass
    finally:
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        services.hub.unsubscribe(destination_id, listener)
        await services.redis.zrem(online, str(user.id))
