"""Files both ways: a visitor's photo or PDF, an adviser's map or timetable, checked from their
bytes (app.files_check), kept with their message (``StoredAttachment``), and erased with it
(app.privacy deletes a message's attachment rows, thumbnails included).

A visitor's file goes in through the inbox like any chat message (routing, unread, search,
response times); an adviser's goes out through the reply path (app.actions.reply), to the chat
widget or as a MIME attachment of the mail (app.outbox). X takes no files here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from typing import TYPE_CHECKING, Any

from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import actions, moderation
from app.actions import ActionError
from app.events import MessageOut
from app.files_check import RASTER_TYPES, CheckedFile, FileRefused, check, human_size
from app.files_upload import Upload
from app.inbox import ClosedAccountError, Inbox
from app.models import Account, Direction, Message, StoredAttachment, User
from app.services import Services
from app.socket_guard import Bucket, SocketGuard
from connectors.base import Attachment
from connectors.webchat.frames import VisitorMessageFrame, storable, to_inbound

if TYPE_CHECKING:
    from app.web.visitor_api import VisitorCaller

FILES_BURST = 10  # files one visitor may send at once…
FILES_PER_MINUTE = 6.0  # …then this many a minute
CHANNELS_TAKING_FILES = ("webchat", "email")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # as a chat frame's (connectors.webchat)


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """The widget's size cap, so a visitor is told at once that a file is too large rather
    than after sending it whole."""
    cap = services.settings.upload_max_bytes
    return {"files": {"max_bytes": cap, "max": human_size(cap)}}


def visitor_attachments(message: MessageOut) -> list[dict[str, Any]]:
    """A message's files as its visitor's widget lists them (in the ``message`` frame): only
    files kept here, which the widget downloads with its token."""
    return [
        {
            "id": a.id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "image": a.content_type in RASTER_TYPES,
        }
        for a in message.attachments
        if a.available
    ]


def _text(upload: Upload, max_chars: int) -> str:
    text = upload.text.strip("\r\n")
    if len(text) > max_chars:
        raise FileRefused("text_too_long")
    if not storable(text):
        raise FileRefused("text_invalid")
    return text


async def receive(visitor: VisitorCaller, upload: Upload, site: str = "") -> tuple[Message, bool]:
    """A visitor's file, checked, then ingested as their message (a new one, or the one already
    stored under the same ``client_id``): the message, and whether it was stored just now.
    ``site``: the page's origin (the request's ``Origin``), kept on the visitor's profile."""
    services = visitor.services
    settings = services.settings
    if await moderation.refusal(services, visitor.account, visitor.visitor_id, visitor.ip):
        raise FileRefused("blocked", 403)
    bucket = Bucket("file-visitor", visitor.visitor_key, FILES_BURST, FILES_PER_MINUTE)
    if not await SocketGuard(services.redis).admit(bucket):
        raise FileRefused("rate_limited", 429)
    client_id = upload.client_id or secrets.token_hex(12)
    if not _CLIENT_ID.match(client_id):
        raise FileRefused("client_id")
    text = _text(upload, settings.max_message_chars)
    # Decoding a photo takes CPU for a while: off the event loop, so other sockets go on.
    checked = await asyncio.to_thread(
        check, upload.data, upload.filename, settings.upload_max_bytes
    )
    inbound = to_inbound(
        VisitorMessageFrame(client_id=client_id, text=text),
        account=visitor.account.key,
        visitor_id=visitor.visitor_id,
        received_at=services.clock.now(),
        language=visitor.lang,
        site=site,
    )
    inbound = dataclasses.replace(
        inbound,
        metadata={**inbound.metadata, "ip": visitor.ip},
        attachments=(
            Attachment(checked.filename, checked.content_type, len(checked.data), checked.data),
        ),
    )
    try:
        result = await Inbox(services).ingest(inbound)
    except ClosedAccountError:  # the widget was disabled since the caller was checked
        raise ActionError("widget.error.unknown_widget", 404) from None
    async with services.db.session() as session:
        if result.created and checked.thumbnail is not None:
            # Written just after the message: the inbox asks for a thumbnail only once it
            # shows the message, and one not yet written is made from the file meanwhile.
            await session.exec(
                update(StoredAttachment)
                .where(col(StoredAttachment.message_id) == result.message_id)
                .values(thumbnail=checked.thumbnail)
            )
            await session.commit()
        message = await session.get(Message, result.message_id)
    assert message is not None
    return message, result.created


async def send(services: Services, user: User, conversation_id: int, upload: Upload) -> Message:
    """An adviser's file (and optional text) as a reply on the conversation's channel."""
    async with services.db.session() as session:
        loaded = await actions.check_conversation(session, user, conversation_id)
        conversation = actions.check_writable(loaded).conversation
    if conversation.channel not in CHANNELS_TAKING_FILES:
        raise FileRefused("channel")
    text = _text(upload, services.settings.max_message_chars)
    checked = await asyncio.to_thread(
        check, upload.data, upload.filename, services.settings.upload_max_bytes
    )
    return await actions.reply(
        services, user, conversation_id, text, _client_id(upload), files=[_stored(checked)]
    )


def _client_id(upload: Upload) -> str:
    return upload.client_id if _CLIENT_ID.match(upload.client_id) else ""


def _stored(checked: CheckedFile) -> StoredAttachment:
    return StoredAttachment(
        message_id=0,  # set by the reply, once its message has an id
        filename=checked.filename,
        content_type=checked.content_type,
        size=len(checked.data),
        data=checked.data,
        thumbnail=checked.thumbnail,
    )


async def visitor_file(visitor: VisitorCaller, attachment_id: int) -> StoredAttachment:
    """A file of the visitor's own conversation (sent or received), else 404: another
    visitor's file is not found, as if it did not exist."""
    async with visitor.services.db.session() as session:
        conversation = await visitor.conversation(session)
        attachment = await session.get(StoredAttachment, attachment_id)
        message = await session.get(Message, attachment.message_id) if attachment else None
    if (
        attachment is None
        or message is None
        or conversation is None
        or message.conversation_id != conversation.id
        or message.direction == Direction.NOTE
    ):
        raise ActionError("widget.files.error.not_found", 404)
    return attachment


async def staff_file(services: Services, user: User, attachment_id: int) -> StoredAttachment:
    """A file of a conversation ``user`` may see, else 404."""
    async with services.db.session() as session:
        attachment = await session.get(StoredAttachment, attachment_id)
        message = await session.get(Message, attachment.message_id) if attachment else None
        if attachment is None or message is None:
            raise ActionError("error.attachment_not_found", 404)
        await actions.check_conversation(session, user, message.conversation_id)
    return attachment
