"""Advisers' actions on X: like a visitor's tweet, hide a reply, move to direct messages.

Any adviser who may read the conversation (404 otherwise); every change needs the CSRF header;
every refusal is a 4xx with a translated ``detail`` and its ``code`` (``x.error.*``).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, StrictBool

from app import x_actions
from app.deps import CsrfChecked, CurrentUser, RowId, ServicesDep
from app.events import MessageOut

router = APIRouter(prefix="/api", tags=["x"])


class LikeIn(BaseModel):
    liked: StrictBool  # true: like the tweet; false: unlike it


class HideIn(BaseModel):
    hidden: StrictBool  # true: hide the reply; false: show it again


class MoveToDmIn(BaseModel):
    text: str  # the public invitation, as the adviser edited it (at most 280 as X counts)


class InvitationOut(BaseModel):
    text: str


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/x/like", dependencies=[CsrfChecked]
)
async def post_like(
    conversation_id: RowId,
    message_id: RowId,
    body: LikeIn,
    user: CurrentUser,
    services: ServicesDep,
) -> MessageOut:
    """Likes (``liked``: true) or unlikes a visitor's tweet as the office's X account; the
    message's ``details.liked`` says so afterwards."""
    return await x_actions.set_liked(services, user, conversation_id, message_id, body.liked)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/x/hide", dependencies=[CsrfChecked]
)
async def post_hide(
    conversation_id: RowId,
    message_id: RowId,
    body: HideIn,
    user: CurrentUser,
    services: ServicesDep,
) -> MessageOut:
    """Hides (``hidden``: true) or shows again a visitor's reply to one of the office's tweets;
    the message's ``details.hidden`` says so afterwards."""
    return await x_actions.set_hidden(services, user, conversation_id, message_id, body.hidden)


@router.get("/conversations/{conversation_id}/x/move-to-dm")
async def get_invitation(
    conversation_id: RowId, user: CurrentUser, services: ServicesDep
) -> InvitationOut:
    """The default public invitation to continue by DM, in the visitor's language when known."""
    return InvitationOut(text=await x_actions.default_invitation(services, user, conversation_id))


@router.post(
    "/conversations/{conversation_id}/x/move-to-dm",
    dependencies=[CsrfChecked],
    status_code=201,
)
async def post_move_to_dm(
    conversation_id: RowId, body: MoveToDmIn, user: CurrentUser, services: ServicesDep
) -> MessageOut:
    """Answers the visitor publicly with ``text`` and continues this conversation by direct
    message: their later DMs join it and replies go by DM. Returns the posted invitation."""
    return await x_actions.move_to_dm(services, user, conversation_id, body.text)
