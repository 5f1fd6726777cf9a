"""Typed live events: what the browsers receive, each dispatched on its ``type``.

Events are written to the destination's Redis stream only after the SQL transaction that caused
them has committed, so a rolled-back write never reaches a browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NotRequired, TypedDict

from pydantic import BaseModel, Field, TypeAdapter


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    available: bool  # False when it was over the size cap and only listed


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    direction: str
    author_kind: str
    author_name: str = ""
    text: str
    html: str | None = None
    kind: str = "normal"
    created_at: datetime
    delivery_status: str
    delivery_error: str = ""  # English; the browser says ``delivery.<delivery_code>`` instead
    delivery_code: str = ""
    delivery_params: dict[str, str] = {}
    client_id: str = ""
    quote_start: int | None = None
    attachments: list[AttachmentOut] = []
    mentions: list[int] = []  # a note's mentioned colleagues (user ids)


class ActivityOut(BaseModel):
    id: int
    conversation_id: int
    kind: str
    actor_id: int | None = None
    actor_name: str = ""
    user_id: int | None = None
    user_name: str = ""
    office_id: int | None = None
    office_name: str = ""
    from_office_id: int | None = None
    from_office_name: str = ""
    message_id: int | None = None
    detail: str = ""
    at: datetime


class ConversationOut(BaseModel):
    id: int
    account_id: int
    account_name: str
    channel: str
    office_id: int
    office_name: str
    assignee_id: int | None
    assignee_name: str = ""
    contact_name: str
    contact_handle: str = ""
    subject: str = ""
    status: str
    unread: int
    preview: str
    created_at: datetime
    last_message_at: datetime
    waiting_since: datetime | None = None
    direct: bool = False  # an X direct message conversation (no 280-character limit)
    erased: bool = False  # its visitor's data was erased: kept for the figures, read-only
    visitor_live: bool = False  # a chat visitor whose widget is open right now
    target_seconds: int = 0  # the account's first-response target (its own or the channel's)


class AudienceFields(TypedDict):
    conversation_id: int
    office_id: int
    assignee_id: int | None
    visitor_key: str
    previous_office_id: NotRequired[int | None]


class _Audience(BaseModel):
    """Who may receive an event: the conversation's office, assignee, and its visitor."""

    conversation_id: int
    office_id: int
    assignee_id: int | None = None
    previous_office_id: int | None = None
    visitor_key: str = ""  # "<account key>:<thread key>" of a chat visitor, "" otherwise
    staff: bool = False  # for every adviser and manager of the destination (never a visitor)


class MessageCreated(_Audience):
    type: Literal["message.created"] = "message.created"
    message: MessageOut


class MessageStatus(_Audience):
    type: Literal["message.status"] = "message.status"
    message_id: int
    status: str
    error: str = ""  # English; the browser says ``delivery.<code>`` filled with ``params``
    code: str = ""
    params: dict[str, str] = {}


class ActivityCreated(_Audience):
    type: Literal["activity.created"] = "activity.created"
    activity: ActivityOut


class ConversationChanged(_Audience):
    type: Literal["conversation.changed"] = "conversation.changed"
    conversation: ConversationOut


# Ephemeral signals: sent live through Redis pub/sub (``Hub.signal``), never stored, never
# resumed; a client that missed one simply sees the next.


class Typing(_Audience):
    """Someone is typing in a conversation (``active`` False: stopped)."""

    type: Literal["typing"] = "typing"
    side: Literal["visitor", "adviser"]
    user_id: int | None = None
    name: str = ""
    active: bool = True


class Viewing(_Audience):
    """An adviser has a conversation open in front of them (``active`` False: left it)."""

    type: Literal["viewing"] = "viewing"
    user_id: int
    name: str
    active: bool = True


class PresenceChanged(_Audience):
    """An adviser went online, away or offline (audience: the destination's staff)."""

    type: Literal["presence.changed"] = "presence.changed"
    user_id: int
    name: str = ""
    status: Literal["online", "away", "offline"]


class VisitorPresence(_Audience):
    """A chat visitor opened their widget (``live``) or closed its last tab."""

    type: Literal["visitor.presence"] = "visitor.presence"
    live: bool


Event = Annotated[
    MessageCreated
    | MessageStatus
    | ConversationChanged
    | ActivityCreated
    | Typing
    | Viewing
    | PresenceChanged
    | VisitorPresence,
    Field(discriminator="type"),
]
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
