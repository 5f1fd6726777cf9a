"""The adviser's JSON API (the inbox page calls it; every read is checked per office)."""

from __future__ import annotations

import json
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from app import actions, privacy, repository
from app.actions import ActionError
from app.deps import CsrfChecked, CurrentUser, ServicesDep, translator
from app.events import ConversationOut, MessageOut
from app.models import ConversationStatus, Message, Office, StoredAttachment

router = APIRouter(prefix="/api", tags=["inbox"])


class Me(BaseModel):
    id: int
    name: str
    email: str
    role: str
    office_id: int | None
    office_name: str
    language: str


class ConversationDetail(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut]


class ReplyIn(BaseModel):
    text: str = Field(max_length=20_000)
    client_id: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    split_thread: bool = False  # X: post an answer over 280 characters as a numbered thread


class StatusIn(BaseModel):
    status: ConversationStatus


class TransferIn(BaseModel):
    office_id: int
    note: str = Field(default="", max_length=20_000)


class OfficeOut(BaseModel):
    id: int
    slug: str
    name: str


def action_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ActionError)
    t = translator(request)
    return JSONResponse({"detail": t(exc.code), "code": exc.code}, status_code=exc.status)


@router.get("/me")
async def me(user: CurrentUser, services: ServicesDep) -> Me:
    """The signed-in user."""
    async with services.db.session() as session:
        office = await session.get(Office, user.office_id) if user.office_id else None
    assert user.id is not None
    return Me(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        office_id=user.office_id,
        office_name=office.name if office else "",
        language=user.language,
    )


@router.get("/conversations")
async def list_conversations(
    user: CurrentUser,
    services: ServicesDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
) -> list[ConversationOut]:
    """Conversations the user may see, most recent first."""
    wanted = None if status == "all" else ConversationStatus(status)
    async with services.db.session() as session:
        return await repository.list_conversations(session, user, wanted)


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: int, user: CurrentUser, services: ServicesDep
) -> ConversationDetail:
    """One conversation with its whole history; marks it read."""
    await actions.mark_read(services, user, conversation_id)  # checks the permission too
    async with services.db.session() as session:
        loaded = await actions.check_conversation(session, user, conversation_id)
        view = await repository.conversation_out(session, loaded.conversation)
        msgs = await repository.messages_out(session, conversation_id)
    return ConversationDetail(conversation=view, messages=msgs)


@router.post(
    "/conversations/{conversation_id}/messages", dependencies=[CsrfChecked], status_code=201
)
async def post_reply(
    conversation_id: int, body: ReplyIn, user: CurrentUser, services: ServicesDep
) -> MessageOut:
    """Replies to the visitor on the conversation's channel."""
    message = await actions.reply(
        services, user, conversation_id, body.text, body.client_id, body.split_thread
    )
    return repository.message_out(message, user.name)


@router.post("/conversations/{conversation_id}/status", dependencies=[CsrfChecked])
async def post_status(
    conversation_id: int, body: StatusIn, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Resolves or reopens a conversation."""
    conversation = await actions.set_status(services, user, conversation_id, body.status)
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


@router.post("/conversations/{conversation_id}/take", dependencies=[CsrfChecked])
async def post_take(
    conversation_id: int, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Assigns a queued conversation to the signed-in adviser."""
    conversation = await actions.take(services, user, conversation_id)
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


@router.post("/conversations/{conversation_id}/transfer", dependencies=[CsrfChecked])
async def post_transfer(
    conversation_id: int, body: TransferIn, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Hands a conversation over to another office, with a note for its advisers."""
    conversation = await actions.transfer(
        services, user, conversation_id, body.office_id, body.note
    )
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


@router.get("/offices")
async def list_offices(user: CurrentUser, services: ServicesDep) -> list[OfficeOut]:
    """The destination's offices (transfer targets)."""
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(Office)
                .where(Office.destination_id == user.destination_id)
                .order_by(col(Office.name))
            )
        ).all()
    return [OfficeOut(id=o.id, slug=o.slug, name=o.name) for o in rows if o.id is not None]


@router.get("/attachments/{attachment_id}")
async def download_attachment(
    attachment_id: int, user: CurrentUser, services: ServicesDep
) -> Response:
    """A visitor's file, for the advisers who may see its conversation; never shown inline."""
    async with services.db.session() as session:
        attachment = await session.get(StoredAttachment, attachment_id)
        message = await session.get(Message, attachment.message_id) if attachment else None
        if attachment is None or message is None:
            raise ActionError("error.attachment_not_found", 404)
        await actions.check_conversation(session, user, message.conversation_id)
    if attachment.data is None:
        raise ActionError("error.attachment_too_large", 410)
    quoted = quote(attachment.filename)
    return Response(
        attachment.data,
        media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quoted}"},
    )


@router.get("/conversations/{conversation_id}/visitor-data")
async def visitor_data(conversation_id: int, user: CurrentUser, services: ServicesDep) -> Response:
    """A copy of everything kept about the visitor behind a conversation (managers), as JSON."""
    data = await privacy.export_visitor(services, user, conversation_id)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="visitor-{conversation_id}.json"',
            "cache-control": "no-store",
        },
    )


@router.post("/conversations/{conversation_id}/erase-visitor", dependencies=[CsrfChecked])
async def erase_visitor(
    conversation_id: int, user: CurrentUser, services: ServicesDep
) -> dict[str, object]:
    """Erases the visitor behind a conversation: their words, files and identity (managers)."""
    return await privacy.erase_visitor(services, user, conversation_id)
