"""A chat widget disabled while visitors have it open: its sockets are closed (4404, which the
widget shows as "chat closed" and does not reconnect after), a message sent on one is refused
and not stored, new sockets are refused, other widgets carry on; enabled again, it works.
Over a real server, Redis and database; the closing is the app's own periodic look."""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import datetime
from typing import Any

import pytest
import websockets
from PIL import Image
from sqlmodel import select
from websockets.exceptions import ConnectionClosed

from app import actions, destinations, files, widget_closing
from app.actions import ActionError
from app.db import Database
from app.files_upload import Upload
from app.i18n import gettext
from app.inbox import ClosedAccountError, Inbox
from app.models import Conversation, DeliveryStatus, Message
from app.services import Services
from app.web.visitor_api import VisitorCaller
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_metrics import adviser_of
from tests.app.test_ws import close_code, recv_until, send_message, visitor_url
from tests.conftest import LiveServer

OTHER = "chat-saint-clair"


async def _set_active(live: LiveServer, key: str, active: bool) -> None:
    db = Database(live.settings.sqlalchemy_url)
    try:
        async with db.session() as session:
            await destinations.set_active(session, key, active)
    finally:
        await db.dispose()


async def _stored(live: LiveServer, client_id: str) -> int:
    db = Database(live.settings.sqlalchemy_url)
    try:
        async with db.session() as session:
            rows = (await session.exec(select(Message).where(Message.client_id == client_id))).all()
        return len(rows)
    finally:
        await db.dispose()


async def _closed_with(ws: Any, timeout: float) -> tuple[int, str]:
    """The close code and reason the server ends ``ws`` with, frames before it skipped."""
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
    assert closed.value.rcvd is not None, "closed by the client side, not the server"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_disabled_widget_closes_its_open_chats_and_takes_no_message(
    live: LiveServer,
) -> None:
    async with (
        websockets.connect(visitor_url(live)) as writer,
        websockets.connect(visitor_url(live)) as idle,
        websockets.connect(visitor_url(live, account=OTHER)) as other,
    ):
        for ws in (writer, idle, other):
            await recv_until(ws, "hello")
        assert (await send_message(writer, "Bonjour, un parking ?", "before-0001"))["message_id"]
        await _set_active(live, "chat-port-argent", False)

        # A message on an open socket is refused at once, and nothing is stored.
        await writer.send(
            json.dumps({"type": "message", "client_id": "after-0001", "text": "Allo"})
        )
        assert await _closed_with(writer, 5) == (4404, widget_closing.CLOSE_REASON)
        assert await _stored(live, "after-0001") == 0
        assert await _stored(live, "before-0001") == 1  # what came before stays

        # A socket that sends nothing is closed by the worker's periodic look.
        code, reason = await _closed_with(idle, widget_closing.EVERY_SECONDS + 5)
        assert (code, reason) == (4404, widget_closing.CLOSE_REASON)
        assert await close_code(visitor_url(live)) == 4404  # and no new chat opens

        # Another widget of the destination is untouched.
        await other.send(json.dumps({"type": "ping"}))
        assert (await recv_until(other, "pong"))["type"] == "pong"
        assert (await send_message(other, "Toujours là ?", "other-0001"))["message_id"]

    await _set_active(live, "chat-port-argent", True)
    async with websockets.connect(visitor_url(live)) as again:
        await recv_until(again, "hello")
        assert (await send_message(again, "Rebonjour", "again-0001"))["message_id"]
        await asyncio.sleep(widget_closing.EVERY_SECONDS + 1)  # a look passes: still open
        await again.send(json.dumps({"type": "ping"}))
        assert (await recv_until(again, "pong"))["type"] == "pong"


def _inbound(channel: Channel, account: str, external_id: str, at: datetime) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        account=account,
        external_id=external_id,
        thread_key=f"thread-{external_id}",
        author=Author(external_id="ana@visitor.example", name="Ana"),
        text="Bonjour",
        received_at=at,
    )


async def test_the_inbox_refuses_a_chat_message_to_a_disabled_widget_only(
    services: Services,
) -> None:
    inbox, now = Inbox(services), services.clock.now()
    async with services.db.session() as session:
        await destinations.set_active(session, "chat-port-argent", False)
        await destinations.set_active(session, "mail-port-argent", False)
    with pytest.raises(ClosedAccountError):
        await inbox.ingest(_inbound(Channel.WEBCHAT, "chat-port-argent", "chat-0001", now))
    async with services.db.session() as session:
        found = await session.exec(select(Message).where(Message.external_id == "chat-0001"))
        assert found.all() == []
    # A mailbox's connector is stopped instead: a mail it read before is kept, not refused.
    stored = await inbox.ingest(_inbound(Channel.EMAIL, "mail-port-argent", "<m1@x.example>", now))
    assert stored.created


async def test_a_file_sent_as_its_widget_is_disabled_is_refused_not_stored(
    services: Services,
) -> None:
    """The upload's caller was checked while the widget was active; it is disabled before the
    file is stored: a 404 like any upload to a disabled widget, and no message."""
    image = io.BytesIO()
    Image.new("RGB", (8, 8)).save(image, "PNG")
    async with services.db.session() as session:
        account = await destinations.account_by_key(session, "chat-port-argent")
    caller = VisitorCaller(
        services, account, "v-files", "chat-port-argent:v-files", "192.0.2.7", "fr"
    )
    async with services.db.session() as session:
        await destinations.set_active(session, "chat-port-argent", False)
    upload = Upload("plan.png", image.getvalue(), client_id="file-0001")
    with pytest.raises(ActionError) as refused:
        await files.receive(caller, upload)
    assert (refused.value.status, refused.value.code) == (404, "widget.error.unknown_widget")
    async with services.db.session() as session:
        found = await session.exec(select(Message).where(Message.client_id == "file-0001"))
        assert found.all() == []


async def test_a_reply_to_a_chat_of_a_disabled_widget_needs_the_visitors_address(
    services: Services,
) -> None:
    """Nothing can reach the visitor of a disabled widget but an e-mail: without their address
    the reply is refused and nothing stored; with it, the reply is taken (the outbox mails it)."""
    inbox = Inbox(services)
    stored = await inbox.ingest(
        _inbound(Channel.WEBCHAT, "chat-port-argent", "chat-0002", services.clock.now())
    )
    conversation_id = stored.conversation_id
    adviser = await adviser_of(services, conversation_id)
    async with services.db.session() as session:
        await destinations.set_active(session, "chat-port-argent", False)
    with pytest.raises(ActionError) as refused:
        await actions.reply(services, adviser, conversation_id, "Oui, au port.", "closed-0001")
    assert (refused.value.status, refused.value.code) == (422, "error.widget_closed")
    assert gettext("en", "error.widget_closed").startswith("This chat widget is disabled")
    async with services.db.session() as session:
        found = await session.exec(select(Message).where(Message.client_id == "closed-0001"))
        assert found.all() == []
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.reply_email = "ana@visitor.example"
        session.add(conversation)
        await session.commit()
    sent = await actions.reply(services, adviser, conversation_id, "Oui, au port.", "closed-0002")
    assert sent.id is not None and sent.delivery_status == DeliveryStatus.PENDING
