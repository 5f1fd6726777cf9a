"""Who may open the chat widget's socket: the refusals that come before any work.

Cheapest first: the address's socket bucket (a look, in Redis), the token's signature (no I/O),
the widget (one read), blocks (:mod:`app.moderation`), then the new-chat buckets (before a token
is issued) and the visitor's open tabs (:mod:`app.socket_guard`). A refusal closes with its
documented code (docs/api.md); an attempt refused by a limit takes nothing from any bucket.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from fastapi import WebSocket

from app import moderation, offline_link, repository
from app.deps import client_ip
from app.models import Account, Office
from app.security import VisitorIdentity, VisitorTokenError
from app.services import Services
from app.socket_guard import Bucket, SocketGuard
from app.web.ws import refuse


@dataclass(frozen=True, slots=True)
class Admitted:
    """An admitted visitor socket, counted among its visitor's open tabs until :meth:`leave`."""

    guard: SocketGuard
    account: Account
    token: str
    visitor_id: str
    visitor_key: str
    ip: str

    async def leave(self) -> None:
        with contextlib.suppress(Exception):  # Redis away: the count lapses (TAB_TTL)
            await self.guard.close_tab(self.account.destination_id, self.visitor_key)


async def admit(ws: WebSocket, services: Services) -> Admitted | None:
    """The socket's visitor, admitted; None once refused (the socket is then closed)."""
    settings = services.settings
    account_key = ws.query_params.get("account", "")[:64]
    token = ws.query_params.get("token")
    ip = client_ip(ws)  # the peer, or what a trusted proxy said (CONCIERGE_TRUSTED_PROXIES)
    guard = SocketGuard(services.redis)
    sockets = Bucket("socket-ip", ip, settings.socket_ip_burst, settings.socket_ip_per_minute)
    if not await guard.admit(sockets, dry=True):
        await refuse(ws, 4429, "too many connections from this address")
        return None

    async def invalid(code: int, reason: str) -> None:
        await guard.admit(sockets)  # counted: invalid attempts must not cost reads for free
        await refuse(ws, code, reason)

    identity: VisitorIdentity | None = None
    if token:
        try:
            identity = services.visitor_tokens.read(token)
        except VisitorTokenError as exc:
            await invalid(4410 if exc.reason == "expired" else 4401, f"visitor token {exc.reason}")
            return None
    async with services.db.session() as session:
        account = await repository.account_by_key(session, account_key)
        office = await session.get(Office, account.office_id) if account else None
    if account is None or account.channel != "webchat" or not account.active or office is None:
        await invalid(4404, "unknown chat account")
        return None
    origin = ws.headers.get("origin", "")
    # A restricted widget still works on the helpdesk's own /chat/… page (app.offline_link).
    if not offline_link.origin_allowed(settings, account.allowed_origins, origin):
        await invalid(4403, "origin not allowed for this widget")
        return None
    if identity is not None and identity.account != account.key:
        await invalid(4401, "visitor token invalid")
        return None
    blocked = await moderation.refusal(
        services, account, identity.visitor_id if identity else None, ip
    )
    if blocked is not None:
        await invalid(moderation.BLOCKED_CLOSE, blocked)
        return None
    if identity is None:
        new_chat = (
            Bucket("chat-ip", ip, settings.chat_new_ip_burst, settings.chat_new_ip_per_minute),
            Bucket(
                "chat-widget",
                account.key,
                settings.chat_new_widget_burst,
                settings.chat_new_widget_per_minute,
            ),
        )
        if not await guard.admit(sockets, *new_chat):
            await refuse(ws, 4429, "too many new chats: try again in a minute")
            return None
        token, identity = services.visitor_tokens.issue(account.key)
        visitor_key = f"{account.key}:{identity.visitor_id}"
        await guard.open_tab(account.destination_id, visitor_key, settings.visitor_max_tabs)
    else:
        visitor_key = f"{account.key}:{identity.visitor_id}"
        cap = settings.visitor_max_tabs
        if not await guard.open_tab(account.destination_id, visitor_key, cap):
            await refuse(ws, 4429, "too many open tabs for this chat")
            return None
        if not await guard.admit(sockets):
            await guard.close_tab(account.destination_id, visitor_key)
            await refuse(ws, 4429, "too many connections from this address")
            return None
    return Admitted(guard, account, token or "", identity.visitor_id, visitor_key, ip)
