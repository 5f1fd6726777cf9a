"""Files both ways over HTTP (app.files): a visitor's upload and downloads with their widget's
token, an adviser's upload, downloads and thumbnails with per-office rights.

Every download is ``Content-Disposition: attachment`` with its name made safe (RFC 6266 and
5987: an ASCII fallback and the UTF-8 name) and typed from what its bytes are, never from what
its sender declared; ``?inline=1`` shows it in the browser only when its bytes are a photo.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlmodel import select

from app import files
from app.actions import ActionError
from app.deps import CsrfChecked, CurrentUser, RowId, ServicesDep, translator
from app.display import plain_text
from app.events import MessageOut
from app.files_check import RASTER_TYPES, FileRefused, served_type, thumbnail_from
from app.files_upload import read_upload
from app.i18n import gettext
from app.models import Message, StoredAttachment
from app.repository import message_out
from app.services import Services
from app.web.visitor_api import Visitor

router = APIRouter(tags=["files"])
Inline = Annotated[bool, Query(description="show a photo in the browser (photos only)")]
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9 ._()+,-]")


class FileSent(BaseModel):
    message_id: int
    conversation_id: int
    created: bool  # False: this client_id was stored before (sent again), nothing new stored
    attachments: list[dict[str, object]]


@router.post("/api/visitor/files", status_code=201, response_model=FileSent)
async def visitor_upload(request: Request, visitor: Visitor) -> JSONResponse:
    """A visitor's photo or PDF (multipart ``file``, optional ``text`` and ``client_id``),
    stored as their message. Refusals (413 too large, 415 not a photo or PDF, 422 broken) say
    why in the visitor's language; nothing is stored then."""
    settings = visitor.services.settings
    try:
        upload = await read_upload(request, settings.upload_max_bytes, settings.max_message_chars)
        message, created = await files.receive(
            visitor, upload, site=request.headers.get("origin", "")
        )
    except FileRefused as refused:
        detail = gettext(visitor.lang, f"widget.files.error.{refused.code}", **refused.params)
        return _refusal(detail, refused)
    sent = FileSent(
        message_id=message.id or 0,
        conversation_id=message.conversation_id,
        created=created,
        attachments=files.visitor_attachments(await _message_out(visitor.services, message)),
    )
    return JSONResponse(sent.model_dump(), status_code=201 if created else 200)


@router.get("/api/visitor/files/{attachment_id}")
async def visitor_download(attachment_id: RowId, visitor: Visitor) -> Response:
    """A file of the visitor's own conversation (404 for any other), as a download."""
    return download(await files.visitor_file(visitor, attachment_id), inline=False)


@router.get("/api/visitor/files/{attachment_id}/thumbnail")
async def visitor_thumbnail(attachment_id: RowId, visitor: Visitor) -> Response:
    """The small picture of a photo of the visitor's own conversation (404 otherwise)."""
    attachment = await files.visitor_file(visitor, attachment_id)
    return await thumbnail(attachment, inline=True, missing="widget.files.error.not_found")


@router.get("/api/attachments/{attachment_id}")
async def download_attachment(
    attachment_id: RowId, user: CurrentUser, services: ServicesDep, inline: Inline = False
) -> Response:
    """A file of a conversation the adviser may see; shown inline only if ``inline`` is asked
    and its bytes are a photo, downloaded otherwise."""
    return download(await files.staff_file(services, user, attachment_id), inline)


@router.get("/api/attachments/{attachment_id}/thumbnail")
async def attachment_thumbnail(
    attachment_id: RowId, user: CurrentUser, services: ServicesDep, inline: Inline = False
) -> Response:
    """A photo's thumbnail (at most 320 px, JPEG) for the thread; 404 when it is no photo."""
    return await thumbnail(await files.staff_file(services, user, attachment_id), inline)


@router.post(
    "/api/conversations/{conversation_id}/files", dependencies=[CsrfChecked], status_code=201
)
async def adviser_upload(
    conversation_id: RowId, request: Request, user: CurrentUser, services: ServicesDep
) -> MessageOut:
    """An adviser's photo or PDF (multipart ``file``, optional ``text`` and ``client_id``)
    sent as a reply: to the chat visitor's widget, or attached to the e-mail. X takes none."""
    settings = services.settings
    try:
        upload = await read_upload(request, settings.upload_max_bytes, settings.max_message_chars)
        message = await files.send(services, user, conversation_id, upload)
    except FileRefused as refused:
        detail = translator(request, user)(f"files.error.{refused.code}", **refused.params)
        return _refusal(detail, refused)  # type: ignore[return-value]
    return await _message_out(services, message, user.name)


def _refusal(detail: str, refused: FileRefused) -> JSONResponse:
    code = f"files.error.{refused.code}"
    return JSONResponse({"detail": detail, "code": code}, status_code=refused.status)


async def _message_out(services: Services, message: Message, author: str = "") -> MessageOut:
    async with services.db.session() as session:
        rows = await session.exec(
            select(StoredAttachment).where(StoredAttachment.message_id == message.id)
        )
        return message_out(message, author, rows.all())


def download(attachment: StoredAttachment, inline: bool) -> Response:
    """The file typed from its bytes, never sniffed by the browser (``nosniff`` is on every
    response, app.web.headers), inline only when asked and a photo."""
    if attachment.data is None:
        raise ActionError("error.attachment_too_large", 410)
    content_type = served_type(attachment.data)
    shown = inline and content_type in RASTER_TYPES
    return _response(attachment.data, content_type, attachment.filename, shown)


async def thumbnail(
    attachment: StoredAttachment, inline: bool, missing: str = "files.error.no_thumbnail"
) -> Response:
    small = attachment.thumbnail
    if small is None and attachment.data is not None:
        # A photo that came by e-mail: made now (off the event loop), not kept.
        small = await asyncio.to_thread(thumbnail_from, attachment.data)
    if small is None:
        raise ActionError(missing, 404)
    return _response(small, "image/jpeg", f"thumbnail-{attachment.filename}.jpg", inline)


def _response(data: bytes, content_type: str, filename: str, inline: bool) -> Response:
    return Response(
        data,
        media_type=content_type,
        headers={
            "content-disposition": content_disposition(filename, inline),
            # A file opened on its own is a document of this site: let it run nothing.
            "content-security-policy": "default-src 'none'; img-src 'self'; sandbox",
            "cache-control": "private, max-age=3600",
        },
    )


def content_disposition(filename: str, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''…`` (RFC 6266): an ASCII stand-in for
    old clients and the real name, both without quotes, slashes, controls or bidi tricks."""
    name = plain_text(filename).replace("/", "_").replace("\\", "_") or "file"
    name = "".join(ch for ch in name if ch.isprintable())[:200] or "file"
    fallback = _NOT_ASCII_SAFE.sub("_", name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
