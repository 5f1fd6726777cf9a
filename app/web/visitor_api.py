"""What a chat visitor's widget asks over HTTP (files, their data, a reply address, a survey):
the shared pieces of every ``/api/visitor/…`` route.

The widget runs on an office's website, another origin: it sends its visitor token in an
``Authorization: Bearer`` header (never a cookie, never in a URL), and :class:`VisitorCors`
answers the browser's preflight and marks the responses readable by that page. A token names
one visitor of one widget; the widget's ``allowed_origins`` hold for these routes as for its
socket, and each visitor's requests are rate-limited.

Refusals are ``{"detail", "code"}`` in the visitor's language (``?lang=``, see
:func:`app.deps.visitor_language`), like every other refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import offline_link, repository, visitor_queue
from app.actions import ActionError
from app.deps import client_ip, get_services, visitor_language
from app.models import Account, Conversation
from app.security import VisitorTokenError
from app.services import Services
from app.socket_guard import Bucket, SocketGuard

PREFIX = "/api/visitor/"
API_BURST = 30  # requests one visitor may make at once…
API_PER_MINUTE = 30.0  # …then this many a minute


@dataclass(frozen=True, slots=True)
class VisitorCaller:
    """The visitor behind a request: their widget (a live chat account) and their id in it."""

    services: Services
    account: Account
    visitor_id: str
    visitor_key: str  # "<account key>:<visitor id>", as in events' ``visitor_key``
    ip: str
    lang: str

    async def conversation(self, session: AsyncSession) -> Conversation | None:
        """Their conversation (one visitor, one conversation), None before their first message."""
        return await visitor_queue.conversation_of(session, self.account, self.visitor_id)


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def visitor_caller(request: Request) -> VisitorCaller:
    """The request's visitor, or a 401/403/404/429 with its reason."""
    services = get_services(request)
    try:
        identity = services.visitor_tokens.read(bearer(request))
    except VisitorTokenError as exc:
        raise ActionError("widget.error.token", 401) from exc
    ip = client_ip(request)
    async with services.db.session() as session:
        account = await repository.account_by_key(session, identity.account)
    if account is None or account.channel != "webchat" or not account.active:
        raise ActionError("widget.error.unknown_widget", 404)
    origin = request.headers.get("origin", "")
    allowed = offline_link.origin_allowed(services.settings, account.allowed_origins, origin)
    if origin and not allowed:  # the helpdesk's own /chat/… page is allowed (app.offline_link)
        raise ActionError("widget.error.origin", 403)
    key = f"{account.key}:{identity.visitor_id}"
    if not await SocketGuard(services.redis).admit(
        Bucket("visitor-api", key, API_BURST, API_PER_MINUTE)
    ):
        raise ActionError("widget.error.rate_limited", 429)
    return VisitorCaller(services, account, identity.visitor_id, key, ip, visitor_language(request))


Visitor = Annotated[VisitorCaller, Depends(visitor_caller)]


class VisitorCors:
    """CORS for ``/api/visitor/…``: any page may ask (the token and the widget's allowed
    origins decide what it gets), without cookies; the preflight is answered here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = next((v for k, v in scope["headers"] if k == b"origin"), b"")
        if scope["method"] == "OPTIONS":
            headers = [
                (b"access-control-allow-methods", b"GET, POST, PUT, DELETE"),
                (b"access-control-allow-headers", b"authorization, content-type"),
                (b"access-control-max-age", b"600"),
                (b"content-length", b"0"),
                *_allow(origin),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_allow(origin)]
            await send(message)

        await self.app(scope, receive, with_cors)


def _allow(origin: bytes) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", b"content-disposition"),
        # Images (a thumbnail, a logo) may be shown by the widget on another site's page.
        (b"cross-origin-resource-policy", b"cross-origin"),
    ]
    if origin and origin != b"null":
        headers.append((b"access-control-allow-origin", origin))
    return headers
