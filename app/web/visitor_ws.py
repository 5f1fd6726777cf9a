"""The visitor's chat websocket (the widget on an office's website).

Resumes from ``last_event_id`` like the adviser's socket (see :mod:`app.web.ws` for the close
codes): the backlog since that id first, then live events, each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.deps import get_services, language_for
from app.events import Event, MessageCreated
from app.i18n import catalog, gettext
from app.inbox import Inbox
from app.models import Account, Conversation, Destination, Office
from app.realtime import Listener
from app.security import VisitorTokenError
from app.services import Services
from app.timefmt import human_when
from app.web.ws import pump_events, refuse, valid_resume_id
from connectors.webchat.frames import FrameError, PingFrame, parse_frame, to_inbound

router = APIRouter()


def visitor_frame(event_id: str, event: Event) -> dict[str, Any] | None:
    """What a visitor may see of an event: messages of their conversation, nothing internal."""
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
        },
    }


@router.websocket("/ws/visitor")
async def visitor_socket(ws: WebSocket) -> None:
    services = get_services(ws)
    settings = services.settings
    account_key = ws.query_params.get("account", "")[:64]
    token = ws.query_params.get("token")
    lang = language_for(ws)
    async with services.db.session() as session:
        account = await repository.account_by_key(session, account_key)
        office = await session.get(Office, account.office_id) if account else None
        answering = await _who_answers(services, session, account, lang) if account else ("", "")
    if account is None or account.channel != "webchat" or not account.active or office is None:
        await refuse(ws, 4404, "unknown chat account")
        return
    origin = ws.headers.get("origin", "")
    if account.allowed_origins and origin not in account.allowed_origins.split():
        await refuse(ws, 4403, "origin not allowed for this widget")
        return
    ip = ws.client.host if ws.client else "unknown"
    if token:
        try:
            identity = services.visitor_tokens.read(token)
        except VisitorTokenError as exc:
            code = 4410 if exc.reason == "expired" else 4401
            await refuse(ws, code, f"visitor token {exc.reason}")
            return
        if identity.account != account.key:
            await refuse(ws, 4401, "visitor token invalid")
            return
    else:
        if not await services.limiter.hit("visitor-new", ip, settings.visitor_ip_rate):
            await refuse(ws, 4429, "too many new chats from this address")
            return
        token, identity = services.visitor_tokens.issue(account.key)
    await ws.accept()
    visitor_key = f"{account.key}:{identity.visitor_id}"
    listener = Listener(accepts=lambda e: e.visitor_key == visitor_key)
    services.hub.subscribe(account.destination_id, listener)
    try:
        tail = await services.hub.tail_id(account.destination_id)
        resume = valid_resume_id(ws.query_params.get("last_event_id"))
        history = [] if resume else await _visitor_history(services, account, identity.visitor_id)
        await ws.send_json(
            {
                "type": "hello",
                "token": token,
                "last_event_id": resume or tail,
                "messages": history,
                "office": answering[0],
                "next_answer": answering[1],
                "lang": lang,
                "strings": {k: v for k, v in catalog(lang).items() if k.startswith("widget.")},
                "privacy": gettext(lang, "widget.privacy", days=settings.retention_days),
                "privacy_url": f"{settings.base_url}/privacy?lang={lang}",
            }
        )
        pump = asyncio.create_task(
            pump_events(ws, services, account.destination_id, listener, resume, visitor_frame)
        )
        inbox = Inbox(services)
        try:
            while not pump.done():
                raw = await ws.receive_text()
                await _visitor_frame(
                    ws, services, inbox, account, identity.visitor_id, ip, raw, lang
                )
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
    except WebSocketDisconnect:
        pass
    finally:
        services.hub.unsubscribe(account.destination_id, listener)


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


async def _visitor_frame(
    ws: WebSocket,
    services: Services,
    inbox: Inbox,
    account: Account,
    visitor_id: str,
    ip: str,
    raw: str,
    lang: str,
) -> None:
    settings = services.settings

    async def error(code: str, client_id: str = "") -> None:
        await ws.send_json(
            {
                "type": "error",
                "code": code,
                "client_id": client_id,
                "message": gettext(lang, f"widget.error.{code}"),
            }
        )

    try:
        frame = parse_frame(raw, settings.max_message_chars)
    except FrameError as exc:
        await error(exc.code, _client_id_of(raw))
        return
    if isinstance(frame, PingFrame):
        await ws.send_json({"type": "pong"})
        return
    allowed = await services.limiter.hit_all(
        ("visitor", visitor_id, settings.visitor_rate), ("visitor-ip", ip, settings.visitor_ip_rate)
    )
    if not allowed:
        await error("rate_limited", frame.client_id)
        return
    inbound = to_inbound(
        frame,
        account=account.key,
        visitor_id=visitor_id,
        received_at=services.clock.now(),
        language=lang,
    )
    result = await inbox.ingest(inbound)
    await ws.send_json(
        {"type": "ack", "client_id": frame.client_id, "message_id": result.message_id}
    )


def _client_id_of(raw: str) -> str:
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        value = json.loads(raw).get("client_id", "")
        if isinstance(value, str) and len(value) <= 64:
            return value
    return ""
