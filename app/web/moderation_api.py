"""Managers' moderation endpoints: spam (mark, restore, the Spam view) and blocks (of a
conversation's sender or its chat visitor's address; listed and lifted).

Managers only (403 for advisers); a conversation or block the manager may not read answers 404,
another destination's included; every change needs the CSRF header.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictBool

from app import moderation_actions, pagination, repository
from app.actions import ActionError
from app.deps import CsrfChecked, CurrentUser, RowId, ServicesDep
from app.events import ConversationOut
from app.moderation import BlockOut, Duration, may_manage
from app.web.api import link_next

router = APIRouter(prefix="/api", tags=["moderation"])


class SpamIn(BaseModel):
    spam: StrictBool  # true: mark as spam; false: restore


class BlockIn(BaseModel):
    target: Literal["sender", "ip"]  # the conversation's contact, or its chat visitor's address
    duration: Duration
    reason: str = Field(default="", max_length=500)


@router.post("/conversations/{conversation_id}/spam", dependencies=[CsrfChecked])
async def post_spam(
    conversation_id: RowId, body: SpamIn, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Marks a conversation as spam (out of every list, count, queue and figure) or restores
    it to its office's queue. Managers only."""
    view, _ = await moderation_actions.mark_spam(services, user, conversation_id, body.spam)
    return view


@router.get("/moderation/spam")
async def list_spam(
    request: Request,
    response: Response,
    user: CurrentUser,
    services: ServicesDep,
    limit: Annotated[str | None, Query(description="1 to 200; 200 by default")] = None,
    cursor: Annotated[str | None, Query(description="X-Next-Cursor of the page before")] = None,
) -> list[ConversationOut]:
    """The Spam view: conversations marked as spam that the manager may read, newest first,
    paged like the other lists (``X-Next-Cursor``). Managers only."""
    if not may_manage(user):
        raise ActionError("error.managers_only", 403)
    try:
        size = pagination.parse_limit(limit)
        start = pagination.decode(cursor)
    except pagination.BadLimitError as exc:
        raise ActionError("error.bad_limit") from exc
    except pagination.BadCursorError as exc:
        raise ActionError("error.bad_cursor") from exc
    async with services.db.session() as session:
        rows = await repository.list_page(
            session, user, "spam", size, pagination.after(start) if start else None
        )
        page = rows[:size]
        views = await repository.conversations_out(session, page)
    if len(rows) > size:
        link_next(request, response, page[-1])
    return views


@router.post("/conversations/{conversation_id}/block", dependencies=[CsrfChecked], status_code=201)
async def post_block(
    conversation_id: RowId, body: BlockIn, user: CurrentUser, services: ServicesDep
) -> BlockOut:
    """Blocks the conversation's sender (``sender``: a chat visitor is refused, an e-mail
    address's or X account's new messages go to spam) or its chat visitor's address (``ip``:
    new chats from it are refused; an IPv6 address with its /64), for ``duration``. 409
    ``moderation.error.no_address`` when no address is known. Managers only."""
    return await moderation_actions.block_from(
        services, user, conversation_id, body.target, body.duration, body.reason
    )


@router.get("/moderation/blocks")
async def list_blocks(user: CurrentUser, services: ServicesDep) -> list[BlockOut]:
    """The blocks in force the manager may see, newest first. Managers only."""
    return await moderation_actions.listed(services, user)


@router.delete("/moderation/blocks/{block_id}", dependencies=[CsrfChecked], status_code=204)
async def delete_block(block_id: RowId, user: CurrentUser, services: ServicesDep) -> None:
    """Lifts a block at once. Managers only."""
    await moderation_actions.lift(services, user, block_id)
