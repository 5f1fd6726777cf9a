"""Typed live events: what the browsers receive, each dispatched on its ``type``.

Events are written to the destination's Redis stream only after the SQL transaction that caused
them has committed, so a rolled-back write never reaches a browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypedDict

from pydantic import AfterValidator, BaseModel, Field, TypeAdapter

from app.display import plain_details, plain_text

# Text that a visitor, a mail sender or an X user chose (names, handles, subjects, file names):
# shown with its bidirectional controls neutralised, whatever page or socket shows it.
Shown = Annotated[str, AfterValidator(plain_text)]


class AttachmentOut(BaseModel):
    id: int
    filename: Shown
    content_type: str
    size: int
    available: bool  # False when it was over the size cap and only listed
    url: str = ""  # where it can be seen when not kept here (an X photo), "" otherwise


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    direction: str
    author_kind: str
    author_name: Shown = ""
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
    sent_at: datetime | None = None  # the sender's own date: information only
    # The channel's display details (docs/api.md), their labels neutralised like names.
    details: Annotated[dict[str, Any], AfterValidator(plain_details)] = {}
    erased: bool = False  # its text was erased at the visitor's request (not merely empty)


class ActivityOut(BaseModel):
    id: int
    conversation_id: int
    kind: str
    actor_id: int | None = None
    actor_name: Shown = ""
    user_id: int | None = None
    user_name: Shown = ""
    office_id: int | None = None
    office_name: str = ""
    from_office_id: int | None = None
    from_office_name: str = ""
    message_id: int | None = None
    detail: str = ""
    at: datetime


class LabelOut(BaseModel):
    id: int
    name: Shown
    color: str  # #rrggbb


class ConversationOut(BaseModel):
    id: int
    account_id: int
    account_name: Shown
    channel: str
    office_id: int
    office_name: str
    assignee_id: int | None
    assignee_name: Shown = ""
    contact_name: Shown
    contact_handle: Shown = ""
    contact_profile: dict[str, Shown] = {}  # what the channel says of them (X: followers…)
    subject: Shown = ""
    status: str
    unread: int
    preview: Shown
    created_at: datetime
    last_message_at: datetime
    waiting_since: datetime | None = None
    direct: bool = False  # an X direct message conversation (no 280-character limit)
    erased: bool = False  # its visitor's data was erased: kept for the figures, read-only
    visitor_live: bool = False  # a chat visitor whose widget is open right now
    target_seconds: int = 0  # the account's first-response target (its own or the channel's)
    spam: bool = False  # marked as spam (app.spam): out of every list but the managers' Spam view
    contact_id: int = 0  # the visitor as this channel knows them
    profile_id: int = 0  # their profile (app.contacts): the contact it was merged into, or itself
    priority: bool = False  # raised by a keyword rule (app.rules)
    labels: list[LabelOut] = []  # its labels (app.labels), by name


class AudienceFields(TypedDict):
    conversation_id: int
    office_id: int
    assignee_id: int | None
    visitor_key: str


class _Audience(BaseModel):
    """Who may receive an event: the conversation's office, assignee, and its visitor.

    Staff receive an event exactly when :func:`staff_sees` says so, the rule
    ``repository.can_see`` applies to HTTP reads: an office learns live only what it may read.
    """

    conversation_id: int
    office_id: int
    assignee_id: int | None = None
    visitor_key: str = ""  # "<account key>:<thread key>" of a chat visitor, "" otherwise
    staff: bool = False  # for every adviser and manager of the destination (never a visitor)


def staff_sees(
    *,
    manager: bool,
    user_id: int | None,
    user_office_id: int | None,
    office_id: int,
    assignee_id: int | None,
) -> bool:
    """The one permission rule, for HTTP reads and live events alike: a destination manager
    sees everything of their destination; anyone else their office's conversations
    (``office_id``) and the ones assigned to them (``assignee_id``)."""
    if manager:
        return True
    return (user_office_id is not None and office_id == user_office_id) or (
        assignee_id is not None and assignee_id == user_id
    )


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


class ConversationLeft(_Audience):
    """A conversation left ``office_id`` (transferred, handed over, rerouted on reopening): its
    advisers drop it from their lists. A removal notice only: it carries no visitor text, no
    name, no preview, since that office may no longer read the conversation."""

    type: Literal["conversation.left"] = "conversation.left"


class SessionEnded(_Audience):
    """A session was logged out (``session`` its hash), or every session of ``user_id`` ended
    (``session`` empty: the user was disabled). Stored in the stream so that it is ordered with
    the events around it: the sockets of that session close before anything published after it.
    No socket ever receives it as a frame; ``conversation_id`` and ``office_id`` are 0."""

    type: Literal["session.ended"] = "session.ended"
    user_id: int
    session: str = ""


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


class VisitorFrame(_Audience):
    """Something said to a chat visitor only (``visitor_key``): a frame for their widget, such
    as "nobody is online, leave an address" (app.offline) or "how did we do?" (app.surveys).
    ``frame`` is sent as it is, with ``type`` among its keys; staff never receive it. Stored in
    the stream (``Hub.publish``) when it must survive a reconnection, else signalled."""

    type: Literal["visitor.frame"] = "visitor.frame"
    frame: dict[str, Any]


Event = Annotated[
    MessageCreated
    | MessageStatus
    | ConversationChanged
    | ConversationLeft
    | ActivityCreated
    | Typing
    | Viewing
    | PresenceChanged
    | VisitorPresence
    | VisitorFrame
    | SessionEnded,
    Field(discriminator="type"),
]
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
