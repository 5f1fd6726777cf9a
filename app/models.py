"""SQL tables (SQLModel): the durable archive that history, search and metrics read.

Datetimes are stored as aware UTC (``UTCDateTime``), never naive.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, TypeDecorator, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlmodel import Column, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; gives back aware UTC datetimes (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("naive datetime refused: store aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Role(enum.StrEnum):
    ADVISER = "adviser"
    OFFICE_MANAGER = "office_manager"
    DESTINATION_MANAGER = "destination_manager"


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"  # internal: between advisers only, never sent to the visitor


class AuthorKind(enum.StrEnum):
    VISITOR = "visitor"
    ADVISER = "adviser"
    SYSTEM = "system"  # automatic replies: never count as a response


class DeliveryStatus(enum.StrEnum):
    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Destination(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    rota_toml: str = ""  # the destination's rota, in the readable TOML form of rota/
    # What visitors are told is kept, why, how long and who sees it (the /privacy page): a JSON
    # object of texts per language, edited by the destination manager; "" = the default text.
    privacy: str = Field(default="", sa_column_kwargs={"server_default": ""})


class Office(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    slug: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    adviser_cap: int = 4

    __table_args__ = (UniqueConstraint("destination_id", "slug"),)


class Account(SQLModel, table=True):
    """One public account of an office: a chat widget, a mailbox, an X account."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    channel: str = Field(max_length=16)
    key: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    target_seconds: int | None = None  # first-response target; None = the channel's default
    allowed_origins: str = ""  # space-separated origins allowed to embed a chat widget ("" = any)
    settings: str = ""  # the connector's connection settings, JSON, never a secret
    active: bool = True
    # Out-of-hours automatic replies of this account (JSON, "" = the channel's defaults):
    # which kinds of conversation get one and the text per language (app.auto_reply).
    auto_reply: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # A chat widget's look and manners (app.widget_look): JSON, "" = the defaults.
    widget: str = Field(default="", sa_column_kwargs={"server_default": ""})


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id", index=True)
    email: str = Field(unique=True, index=True, max_length=254)
    name: str = Field(max_length=200)
    password_hash: str
    role: Role = Role.ADVISER
    language: str = Field(default="", max_length=8)  # "" = follow the browser
    active: bool = True


class Contact(SQLModel, table=True):
    """A visitor as one channel knows them."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    handle: str = Field(default="", max_length=320)
    language: str = Field(default="", max_length=16)
    created_at: datetime = Field(sa_column=utc_column())
    # What the channel last said of them (JSON object of strings, "" when nothing): on X their
    # name, username, verified, followers; shown in the conversation header. Erased with them.
    profile: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # The visitor's e-mail address: an e-mail contact's own, or one an adviser recorded
    # (app.contacts).
    email: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    # One visitor, one profile: the contact whose profile this one was merged into (None:
    # this contact is a profile of its own). Always points at a profile's root, never at a chain.
    # No foreign key: SQLite cannot add one to a stored table without copying it; app.contacts
    # keeps it pointing at a contact of the same destination.
    merged_into_id: int | None = Field(default=None, index=True)

    __table_args__ = (UniqueConstraint("destination_id", "channel", "external_id"),)


class ContactEvent(SQLModel, table=True):
    """What was done to a visitor's profile, by whom and when: a merge (``moved``: the contact
    ids it moved under ``contact_id``), its undoing (``undone_at``), a correction of a field."""

    __tablename__ = "contact_event"

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)  # the profile (its root)
    kind: str = Field(max_length=16)  # merge | unmerge | correct
    other_contact_id: int | None = Field(default=None, foreign_key="contact.id")
    moved: str = ""  # merge: JSON list of the contact ids moved under ``contact_id``
    field: str = Field(default="", max_length=32)  # correct: name | email | language
    old_value: str = Field(default="", max_length=320)
    new_value: str = Field(default="", max_length=320)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(sa_column=utc_column())
    undone_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Conversation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    office_id: int = Field(foreign_key="office.id", index=True)  # the office handling it now
    assignee_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    channel: str = Field(max_length=16)
    thread_key: str = Field(max_length=512)
    subject: str = Field(default="", max_length=500)
    status: ConversationStatus = ConversationStatus.OPEN
    unread: int = 0  # visitor messages no adviser has seen yet
    created_at: datetime = Field(sa_column=utc_column())
    last_message_at: datetime = Field(sa_column=utc_column(index=True))
    waiting_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    preview: str = Field(default="", max_length=200)
    # Marked as spam by a manager, or written by a blocked sender (app.spam): out of every
    # adviser list, count, queue and figure; kept for a manager to review and restore.
    spam: bool = False
    # The address of a chat visitor's last connection, only to let a manager block it; erased
    # with the conversation (app.privacy).
    visitor_ip: str = Field(default="", max_length=64)
    # Raised by a keyword rule (app.rules): shown first and flagged in the lists.
    priority: bool = False
    # The address a chat visitor left so that a reply reaches them once they have gone
    # (app.offline); "" = none left.
    reply_email: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    # The visitor asked not to keep it once answered (app.visitor_data): erased at
    # ``forget_at``, set when it is resolved (and cleared when it is reopened).
    forget_after_resolved: bool = False
    forget_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The office the rota chose when it was last routed, handed over, transferred or answered
    # (app.handover moves a queued conversation only once that choice is off duty). None: not
    # recorded (closed before 0011): its office stands in for it.
    routed_office_id: int | None = None

    __table_args__ = (
        UniqueConstraint("account_id", "thread_key"),
        Index("ix_conversation_office_status", "office_id", "status", "last_message_at"),
    )


_REPLIES = "direction = 'OUT' AND client_id <> ''"  # the rows of ux_message_reply_client
_NOTES = "direction = 'NOTE' AND client_id <> ''"  # the rows of ux_message_note_client


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    direction: Direction
    author_kind: AuthorKind
    author_user_id: int | None = Field(default=None, foreign_key="user.id")
    external_id: str | None = Field(default=None, max_length=512)
    client_id: str = Field(default="", max_length=64)
    kind: str = Field(default="normal", max_length=16)
    text: str
    html: str | None = None
    quote_start: int | None = None  # where quoted history or a signature begins in ``text``
    split_thread: bool = False  # a reply too long for one tweet, to post as a numbered thread
    created_at: datetime = Field(sa_column=utc_column())
    delivery_status: DeliveryStatus = DeliveryStatus.RECEIVED
    delivery_error: str = ""  # English, for logs and for rows stored before codes
    # Why a reply failed, said in the reader's language: ``delivery.<code>`` in the catalogs,
    # filled with ``delivery_params`` (a JSON object of strings, "" when there are none).
    delivery_code: str = Field(default="", max_length=64)
    delivery_params: str = ""
    # The date the sender wrote (an e-mail's Date:, a tweet's created_at): information only.
    # ``created_at`` is when the message reached us, and is what routing and figures use.
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The channel's display details (a JSON object, "" when none): where a reply goes, the
    # forwarded mail's headers, the tweet's link, quoted tweet and links (docs/api.md).
    details: str = Field(default="", sa_column_kwargs={"server_default": ""})

    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        # An adviser's reply once per client id in its conversation: a send repeated returns
        # the one stored (app.actions.reply; migration 0013).
        Index(
            "ux_message_reply_client",
            "conversation_id",
            "client_id",
            unique=True,
            sqlite_where=sql_text(_REPLIES),
            postgresql_where=sql_text(_REPLIES),
        ),
        # An internal note likewise (app.notes.add_note; migration 0014).
        Index(
            "ux_message_note_client",
            "conversation_id",
            "client_id",
            unique=True,
            sqlite_where=sql_text(_NOTES),
            postgresql_where=sql_text(_NOTES),
        ),
    )


ERASED = "erased:"  # what erased identifiers start with (app.privacy)
ERASED_DETAILS = '{"erased":true}'  # an erased message's details: its text was erased


def erased_id(external_id: str) -> str:
    """What is kept of a channel's message id once erased: enough to recognise it, no more."""
    if external_id.startswith(ERASED):
        return external_id
    return ERASED + hashlib.sha256(external_id.encode()).hexdigest()[:40]


class ThreadRef(SQLModel, table=True):
    """An external id (Message-ID, tweet id…) known to belong to a conversation."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    ref: str = Field(max_length=512)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)

    __table_args__ = (UniqueConstraint("account_id", "ref"),)


class RoutingDecision(SQLModel, table=True):
    """Why a conversation went where it went, when: the routing's audit trail."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    adviser_id: int | None = Field(default=None, foreign_key="user.id")
    # own_hours | shared_duty | override | swap | nobody_on_duty | account_office
    # | assigned | picked | handover | transfer | moved | rule (detail: the keyword rule's name)
    reason: str = Field(max_length=32)
    detail: str = Field(default="", max_length=500)
    at: datetime = Field(sa_column=utc_column(index=True))


class Activity(SQLModel, table=True):
    """Something that happened to a conversation other than a message: assigned, transferred,
    resolved, reopened, answered automatically, erased, a colleague mentioned. The thread shows
    each as a compact line between the messages."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    # assigned | picked | assigned_to | transferred | handover | resolved | reopened
    # | auto_reply | erased | mention
    kind: str = Field(max_length=32)
    actor_id: int | None = Field(default=None, foreign_key="user.id")  # who; None: Concierge
    user_id: int | None = Field(default=None, foreign_key="user.id")  # whom: assignee, mentioned
    office_id: int | None = Field(default=None, foreign_key="office.id")  # the office it went to
    from_office_id: int | None = Field(default=None, foreign_key="office.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")  # a mention's note
    detail: str = Field(default="", max_length=500)
    at: datetime = Field(sa_column=utc_column())


class Block(SQLModel, table=True):
    """A manager's block of a sender (a contact of one channel) or of an IP address.

    Active while not lifted and not expired (``expires_at`` None: permanent). Redis mirrors the
    active blocks so the chat socket checks them in one round trip; this table is the record."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    kind: str = Field(max_length=16)  # contact | ip
    channel: str = Field(default="", max_length=16)  # a contact's channel; "" for an IP
    value: str = Field(max_length=320)  # the contact's external id, or an address / network
    label: str = Field(default="", max_length=320)  # what the manager saw: name, address…
    reason: str = Field(default="", max_length=500)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    lifted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    lifted_by: int | None = Field(default=None, foreign_key="user.id")

    __table_args__ = (Index("ix_block_lookup", "destination_id", "kind", "channel", "value"),)


class StoredAttachment(SQLModel, table=True):
    """A file that came with a visitor's message; ``data`` is None when it was over the cap."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    stored: bool = True  # False when it was over the size cap: listed, not kept
    data: bytes | None = None
    url: str = Field(
        default="", max_length=1000, sa_column_kwargs={"server_default": ""}
    )  # where it can be seen when not kept (X media)
    thumbnail: bytes | None = None  # a small JPEG/PNG of a raster image, for the inbox (app.files)


class Quarantine(SQLModel, table=True):
    """Something a connector received but could not read: kept whole, with the reason."""

    id: int | None = Field(default=None, primary_key=True)
    account_key: str = Field(max_length=64, index=True)
    reason: str = Field(max_length=500)  # English, for logs
    raw: bytes
    at: datetime = Field(sa_column=utc_column())
    # The reason in the reader's language: ``quarantine.<code>`` in the catalogs, filled with
    # ``params`` (a JSON object of strings).
    code: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    params: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # When a manager retried it and it went in (or dismissed it): no longer listed as waiting.
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ResponseTurn(SQLModel, table=True):
    """One visitor turn: from the first unanswered visitor message to the next human reply.

    Recorded when it happens (times, the office on duty, the on-duty seconds), so later edits of
    the rota never rewrite history. ``first`` marks the conversation's first response only: a
    reopened conversation's next turn is a later turn (migration 0012 fixed older rows)."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    channel: str = Field(max_length=16)
    office_on_duty_id: int = Field(foreign_key="office.id")
    first: bool = False
    started_at: datetime = Field(sa_column=utc_column())
    answered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    responder_id: int | None = Field(default=None, foreign_key="user.id")
    responder_office_id: int | None = Field(default=None, foreign_key="office.id")
    wall_seconds: float | None = None
    duty_seconds: float | None = None
    hour_of_week: int = 0  # 0 = Monday 00:00–01:00, local time of the destination
    local_day: str = Field(default="", max_length=10)  # YYYY-MM-DD, local time of the destination

    __table_args__ = (
        # Covers the dashboard's one scan: a period's turns are read from the index alone.
        Index(
            "ix_turn_dashboard",
            "started_at",
            "account_id",
            "first",
            "wall_seconds",
            "duty_seconds",
            "office_on_duty_id",
            "responder_id",
            "responder_office_id",
            "channel",
            "hour_of_week",
            "local_day",
        ),
        Index("ix_turn_open", "conversation_id", "answered_at"),
    )


class RollupDay(SQLModel, table=True):
    """Whether one local day's rollups still match its turns.

    ``changes`` counts the writes to the day's turns (bumped in the same transaction as each
    write); ``built`` is the count the stored rollups were built from. Rollups are read only for
    days where the two are equal; other days are read from the turns themselves."""

    destination_id: int = Field(foreign_key="destination.id", primary_key=True)
    local_day: str = Field(max_length=10, primary_key=True)
    changes: int = 0
    built: int = 0


class RollupGrain(enum.IntEnum):
    DAY = 0  # one row per account, office on duty, responding office, adviser and first/later
    HOUR = 1  # one row per hour of the week, account, office on duty and responding office


class TurnRollup(SQLModel, table=True):
    """A local day's turns summed for the dashboard, with their durations as sorted arrays
    (float64, native order) so medians and percentiles over any set of days stay exact.

    Zero stands for "none" in ``responder_office_id`` and ``responder_id`` (unanswered turns)."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int
    grain: int  # RollupGrain
    local_day: str = Field(max_length=10)
    hour_of_week: int = -1  # HOUR rows only
    account_id: int
    office_on_duty_id: int
    responder_office_id: int = 0
    responder_id: int = 0
    first: bool = False
    turns: int = 0
    replied: int = 0
    wall_sum: float = 0.0
    walls: bytes = b""
    duties: bytes = b""

    __table_args__ = (Index("ix_rollup_read", "destination_id", "grain", "local_day"),)


class CsvRollup(SQLModel, table=True):
    """A local day's turns as CSV lines, per account, office on duty, responding office and
    adviser, so the export of a period is a concatenation."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int
    local_day: str = Field(max_length=10)
    account_id: int
    office_on_duty_id: int
    responder_office_id: int = 0
    responder_id: int = 0
    rows: int = 0
    body: bytes = b""

    __table_args__ = (Index("ix_csv_read", "destination_id", "local_day"),)


class AnswerStatus(enum.StrEnum):
    APPROVED = "approved"  # in every adviser's picker
    PROPOSED = "proposed"  # an adviser's proposal, waiting for a manager


class Answer(SQLModel, table=True):
    """A prepared answer of the library (app.answers): one per question, a text per language."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id", index=True)  # None: all
    title: str = Field(max_length=200)
    shortcut: str = Field(default="", max_length=64)  # typed after "/" in the composer
    tags: str = Field(default="", max_length=500)  # space-separated, lower case
    status: AnswerStatus = AnswerStatus.APPROVED
    source_message_id: int | None = Field(default=None, foreign_key="message.id")
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())
    uses: int = 0  # times inserted in a reply
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AnswerText(SQLModel, table=True):
    """One language's text of an answer (placeholders such as ``{visitor_name}`` unfilled)."""

    __tablename__ = "answer_text"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True)
    language: str = Field(max_length=8)  # fr, en, de, nl, es, it…
    text: str

    __table_args__ = (UniqueConstraint("answer_id", "language"),)


class Label(SQLModel, table=True):
    """A destination-wide label (app.labels); ``key`` is the folded name that must be unique."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    name: str = Field(max_length=64)
    key: str = Field(max_length=64)
    color: str = Field(default="#6b7280", max_length=7)  # #rrggbb
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_column=utc_column())

    __table_args__ = (UniqueConstraint("destination_id", "key"),)


class ConversationLabel(SQLModel, table=True):
    """A label on a conversation: who put it (an adviser, or a rule) and when."""

    __tablename__ = "conversation_label"

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    label_id: int = Field(foreign_key="label.id", primary_key=True, index=True)
    added_by: int | None = Field(default=None, foreign_key="user.id")
    rule_id: int | None = Field(default=None, foreign_key="rule.id")
    added_at: datetime = Field(sa_column=utc_column())


class Rule(SQLModel, table=True):
    """A keyword rule (app.rules): when a visitor's message contains any of ``words`` (folded:
    any case, any accents), label it, send it to an office or adviser, raise its priority."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    name: str = Field(max_length=100)
    key: str = Field(max_length=100)  # the folded name, unique per destination
    words: str = ""  # JSON list of the words and phrases, as the manager wrote them
    label_id: int | None = Field(default=None, foreign_key="label.id")
    office_id: int | None = Field(default=None, foreign_key="office.id")
    adviser_id: int | None = Field(default=None, foreign_key="user.id")
    priority: bool = False
    active: bool = False  # a new rule is tried on past conversations before it is switched on
    position: int = 0  # evaluation order: the first matching rule that routes wins
    matched: int = 0  # messages it matched since it was switched on
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())

    __table_args__ = (UniqueConstraint("destination_id", "key"),)


class WidgetLogo(SQLModel, table=True):
    """The office's photo or logo shown in a chat widget's header (app.widget_look)."""

    __tablename__ = "widget_logo"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    content_type: str = Field(max_length=100)
    data: bytes
    updated_at: datetime = Field(sa_column=utc_column())


class Survey(SQLModel, table=True):
    """A satisfaction question sent once when a conversation was resolved (app.surveys), and
    the visitor's answer: a 1–5 rating and an optional comment, within its validity."""

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    office_id: int = Field(foreign_key="office.id")  # the office that resolved it
    adviser_id: int | None = Field(default=None, foreign_key="user.id")  # who answered last
    channel: str = Field(max_length=16)
    via: str = Field(default="", max_length=16)  # widget | email | x | "" (not sent)
    language: str = Field(default="", max_length=8)
    sent_at: datetime = Field(sa_column=utc_column(index=True))
    expires_at: datetime = Field(sa_column=utc_column())
    rating: int | None = None
    comment: str = ""
    answered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class AuditEntry(SQLModel, table=True):
    """A manager's read or erasure of visitor data (app.audit): who, what, when, from where."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    destination_id: int = Field(foreign_key="destination.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=32)  # export | profile | erase | ...
    conversation_id: int | None = None  # plain ids: the entry outlives what it names
    contact_id: int | None = None
    detail: str = Field(default="", max_length=500)
    ip: str = Field(default="", max_length=64)
    at: datetime = Field(sa_column=utc_column(index=True))
