"""The adviser's JSON API (the inbox page calls it; every read is checked per office)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictInt

from app import (
    actions,
    activity,
    assign,
    audit,
    bulk,
    counts,
    labels,
    notes,
    pagination,
    privacy,
    repository,
)
from app.actions import ActionError
from app.deps import (
    MAX_ROW_ID,
    CsrfChecked,
    CurrentUser,
    RowId,
    ServicesDep,
    SignedSession,
    client_ip,
)
from app.events import ActivityOut, ConversationOut, MessageOut
from app.models import Conversation, ConversationStatus, Office

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
    activities: list[ActivityOut]


class Counts(BaseModel):
    mine: int
    queued: int
    open: int
    resolved: int
    all: int
    attention: int  # what needs this adviser now: their unread, their office's fresh queue


class NoteIn(BaseModel):
    text: str = Field(max_length=20_000)
    client_id: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    mentions: list[StrictInt] = Field(default=[], max_length=100)  # true is not user 1


class AssignIn(BaseModel):
    user_id: StrictInt | None  # None: back to the office queue


class BulkIn(BaseModel):
    ids: list[StrictInt] = Field(max_length=10_000)  # over 200: refused with a readable reason
    action: str = Field(max_length=32)
    user_id: StrictInt | None = None
    office_id: StrictInt | None = None
    note: str = Field(default="", max_length=20_000)


class BulkOut(BaseModel):
    done: list[int]
    skipped: int


class ReplyIn(BaseModel):
    text: str = Field(max_length=20_000)
    client_id: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    split_thread: bool = False  # X: post an answer over 280 characters as a numbered thread


class StatusIn(BaseModel):
    status: ConversationStatus


class TransferIn(BaseModel):
    office_id: int
    note: str = Field(default="", max_length=20_000)


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
    request: Request,
    response: Response,
    user: CurrentUser,
    services: ServicesDep,
    status: Annotated[Literal["open", "resolved", "all", "mine", "queued"], Query()] = "open",
    limit: Annotated[str | None, Query(description="1 to 200; 200 by default")] = None,
    cursor: Annotated[str | None, Query(description="X-Next-Cursor of the page before")] = None,
    label_id: Annotated[
        int | None, Query(ge=-MAX_ROW_ID, le=MAX_ROW_ID, description="only those with this label")
    ] = None,
) -> list[ConversationOut]:
    """One page of the conversations the user may see, newest message first (ties by id).

    When more follow, the ``X-Next-Cursor`` header (and ``Link: <…>; rel="next"``) gives the
    next page's ``cursor``. ``mine``: open and assigned to the user; ``queued``: open and
    assigned to nobody. ``label_id``: only those carrying that label (404 for a label that is
    not the destination's)."""
    try:
        size = pagination.parse_limit(limit)
    except pagination.BadLimitError as exc:
        raise ActionError("error.bad_limit") from exc
    try:
        start = pagination.decode(cursor)
    except pagination.BadCursorError as exc:
        raise ActionError("error.bad_cursor") from exc
    async with services.db.session() as session:
        if label_id is not None:
            await labels.check_label(session, user, label_id)
        rows = await repository.list_page(
            session, user, status, size, pagination.after(start) if start else None, label_id
        )
        page = rows[:size]
        live = await repository.live_visitors(services, page)
        views = await repository.conversations_out(session, page, live)
    if len(rows) > size:
        link_next(request, response, page[-1])
    return views


def link_next(request: Request, response: Response, last: Conversation) -> None:
    """Points a list's answer at its next page, after ``last``: the ``X-Next-Cursor`` header
    and ``Link: <…>; rel="next"``."""
    assert last.id is not None
    token = pagination.encode(last.last_message_at, last.id)
    response.headers["X-Next-Cursor"] = token
    following = request.url.include_query_params(cursor=token)
    response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'


@router.get("/conversations/counts")
async def conversation_counts(user: CurrentUser, services: ServicesDep) -> Counts:
    """How many conversations each list holds for the user, and ``attention``: their open
    conversations with unread messages plus their office's queue since its current duty began
    (or since its last duty ended, off duty)."""
    return Counts(**await counts.counts(services, user))


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: RowId, user: CurrentUser, services: ServicesDep
) -> ConversationDetail:
    """One conversation with its whole history and activity lines. Reading changes nothing
    (a cross-site GET carries the Lax session cookie): ``POST …/read`` marks it read."""
    async with services.db.session() as session:
        loaded = await actions.check_conversation(session, user, conversation_id)
        view = await repository.live_view(services, session, loaded.conversation)
        msgs = await repository.messages_out(session, conversation_id)
        lines = await activity.for_conversation(session, conversation_id)
    return ConversationDetail(conversation=view, messages=msgs, activities=lines)


@router.get("/conversations/{conversation_id}/messages/{message_id}")
async def get_message(
    conversation_id: RowId, message_id: RowId, user: CurrentUser, services: ServicesDep
) -> MessageOut:
    """One message of a conversation as the thread shows it: what changed after an action on
    X, read without the whole thread. 404 ``error.message_not_found`` for one not in it."""
    async with services.db.session() as session:
        await actions.check_conversation(session, user, conversation_id)
        found = await repository.messages_out(session, conversation_id, message_id)
    if not found:
        raise ActionError("error.message_not_found", 404)
    return found[0]


@router.post("/conversations/{conversation_id}/read", dependencies=[CsrfChecked])
async def post_read(
    conversation_id: RowId, signed: SignedSession, services: ServicesDep
) -> ConversationOut:
    """Marks a conversation read (its unread count back to 0, announced live); the inbox calls
    it when the adviser opens the conversation or new messages arrive in the open one. The
    adviser is read, and their session checked to hold, in its own unit of work (401 when it
    no longer does)."""
    return await actions.mark_read(services, signed, conversation_id)  # the permission too


@router.post(
    "/conversations/{conversation_id}/messages", dependencies=[CsrfChecked], status_code=201
)
async def post_reply(
    conversation_id: RowId, body: ReplyIn, signed: SignedSession, services: ServicesDep
) -> MessageOut:
    """Replies to the visitor on the conversation's channel. The adviser is read, and their
    session checked to hold, in the reply's own unit of work (401 when it no longer does)."""
    message, user = await actions.reply_in_session(
        services, signed, conversation_id, body.text, body.client_id, body.split_thread
    )
    return repository.message_out(message, user.name)


@router.post("/conversations/{conversation_id}/notes", dependencies=[CsrfChecked], status_code=201)
async def post_note(
    conversation_id: RowId, body: NoteIn, user: CurrentUser, services: ServicesDep
) -> MessageOut:
    """An internal note for the advisers, never sent to the visitor; ``mentions`` alert
    colleagues who may see the conversation (422 ``error.mention_out_of_reach`` otherwise)."""
    note, mentioned = await notes.add_note(
        services, user, conversation_id, body.text, body.client_id, body.mentions
    )
    return repository.message_out(note, user.name, mentions=mentioned)


@router.post("/conversations/{conversation_id}/assign", dependencies=[CsrfChecked])
async def post_assign(
    conversation_id: RowId, body: AssignIn, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Assigns a conversation to a colleague of its office or a destination manager (422
    ``error.unknown_colleague`` otherwise); ``user_id: null`` puts it back in the queue."""
    conversation, _ = await assign.assign_to(services, user, conversation_id, body.user_id)
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


@router.post("/conversations/bulk", dependencies=[CsrfChecked])
async def post_bulk(body: BulkIn, user: CurrentUser, services: ServicesDep) -> BulkOut:
    """Resolves, reopens, assigns or transfers up to 200 conversations; those the user may not
    see, erased ones and those the action refuses are skipped, untouched."""
    if body.action == "assign" and "user_id" not in body.model_fields_set:
        raise ActionError("error.unknown_colleague")
    result = await bulk.run_bulk(
        services, user, body.ids, body.action, body.office_id, body.user_id, body.note
    )
    return BulkOut(done=result.done, skipped=result.skipped)


@router.post("/conversations/{conversation_id}/status", dependencies=[CsrfChecked])
async def post_status(
    conversation_id: RowId, body: StatusIn, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Resolves or reopens a conversation."""
    conversation = await actions.set_status(services, user, conversation_id, body.status)
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


@router.post("/conversations/{conversation_id}/take", dependencies=[CsrfChecked])
async def post_take(
    conversation_id: RowId, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Assigns a queued conversation to the signed-in adviser."""
    conversation = await actions.take(services, user, conversation_id)
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


@router.post("/conversations/{conversation_id}/transfer", dependencies=[CsrfChecked])
async def post_transfer(
    conversation_id: RowId, body: TransferIn, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Hands a conversation over to another office, with a note for its advisers."""
    conversation = await actions.transfer(
        services, user, conversation_id, body.office_id, body.note
    )
    async with services.db.session() as session:
        return await repository.conversation_out(session, conversation)


# A file's download and thumbnail: app/web/files_api.py (typed from its bytes).


@router.get("/conversations/{conversation_id}/visitor-data")
async def visitor_data(
    conversation_id: RowId, user: CurrentUser, services: ServicesDep, request: Request
) -> Response:
    """A copy of everything kept about the visitor behind a conversation (managers), as JSON;
    recorded in the audit log before it leaves (503 when it cannot be)."""
    data = await privacy.export_visitor(services, user, conversation_id)
    await audit.record(
        services, user, "export", ip=client_ip(request), conversation_id=conversation_id
    )
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
    conversation_id: RowId, user: CurrentUser, services: ServicesDep, request: Request
) -> dict[str, object]:
    """Erases the visitor behind a conversation: their words, files and identity (managers);
    recorded in the audit log."""
    return await privacy.erase_visitor(services, user, conversation_id, client_ip(request))
