"""The contract between a channel connector and the application.

A connector turns what a channel delivers (a websocket frame, an IMAP message, an X mention)
into an :class:`InboundMessage`, hands it to an :class:`InboundSink` and only then advances its
own cursor (kept in a :class:`CursorStore`). For the way out, the application gives it an
:class:`OutboundMessage` and gets a :class:`DeliveryResult` back. Connectors know nothing else
about the application and never import it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class Channel(enum.StrEnum):
    WEBCHAT = "webchat"
    EMAIL = "email"
    TWITTER = "twitter"


class MessageKind(enum.StrEnum):
    """What an inbound message is, beyond a visitor writing to us."""

    NORMAL = "normal"
    AUTO_REPLY = "auto_reply"  # RFC 3834 Auto-Submitted, out-of-office…
    BOUNCE = "bounce"  # delivery status notifications, MAILER-DAEMON
    LIST = "list"  # mailing lists, bulk mail


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote an inbound message, as the channel identifies them.

    ``external_id`` is stable for one person on one channel (a visitor id, a lower-cased email
    address, an X user id); the application keys contacts on ``(channel, external_id)``.
    """

    external_id: str
    name: str = ""
    handle: str = ""  # @handle on X, the address on email
    language: str = ""  # BCP 47 tag when the channel tells it (Accept-Language, Content-Language)
    # What the channel says of the person, for the conversation header (strings only): on X
    # "name", "username", "verified" ("1"/""), "followers", "url". Kept on the contact.
    profile: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    data: bytes | None = None  # None when the file was over the size cap (kept as a listing only)
    url: str = ""  # where the file can be seen when it is not kept here (an X photo)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from the outside world, as every channel describes it.

    ``external_id`` is unique within ``(channel, account)``: ingesting the same one twice stores
    it once. ``thread_key`` names the conversation a new thread opens (an X conversation id, a
    webchat visitor, an email Message-ID); ``references`` are earlier external ids this message
    answers, best first (In-Reply-To, then References), used to join an existing conversation.
    ``received_at`` must be an aware datetime: when the message reached us (IMAP INTERNALDATE,
    the moment a frame or a tweet was read), never the sender's own claim. The application
    clamps it to "now" and uses it for routing, automatic replies, metrics and ordering.
    ``sent_at`` is the date the sender wrote (an e-mail's ``Date:``, a tweet's ``created_at``):
    kept and shown as information only. ``details`` are the channel's display details, JSON
    values only (see docs/api.md, "Message details"); ``metadata`` is strings for the app's
    own decisions (``client_id``, ``fingerprint``, ``auto_reply`` = "no"…).
    """

    channel: Channel
    account: str
    external_id: str
    thread_key: str
    author: Author
    text: str
    received_at: datetime
    html: str | None = None  # already sanitised by the connector
    subject: str = ""
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    kind: MessageKind = MessageKind.NORMAL
    metadata: Mapping[str, str] = field(default_factory=dict)
    sent_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None or self.received_at.utcoffset() is None:
            raise ValueError("InboundMessage.received_at must be timezone-aware")
        if self.sent_at is not None and self.sent_at.utcoffset() is None:
            raise ValueError("InboundMessage.sent_at must be timezone-aware")
        if not self.external_id:
            raise ValueError("InboundMessage.external_id must not be empty")


@dataclass(frozen=True, slots=True)
class IngestResult:
    conversation_id: int
    message_id: int
    created: bool  # False when this external id was already stored (a duplicate)


class InboundSink(Protocol):
    """What the application offers a connector to store inbound messages."""

    async def ingest(self, message: InboundMessage) -> IngestResult:
        """Store the message durably; when this returns, the cursor may advance past it."""
        ...


class CursorStore(Protocol):
    """Durable key/value state of a connector (since_id, UIDVALIDITY and UID, …)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An adviser's reply, to be sent on the conversation's channel.

    ``reply_to_external_id`` is the external id of the visitor message being answered (the
    latest one: the tweet to reply to, the email's Message-ID); ``references`` is the thread's
    chain of external ids, oldest first (email References).
    """

    channel: Channel
    account: str
    conversation_id: int
    message_id: int
    thread_key: str
    recipient: Author
    text: str
    subject: str = ""
    reply_to_external_id: str = ""
    references: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    # An adviser's files (checked photos and PDFs), for the channels that carry them (e-mail).
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one reply. A failure says why twice: ``error`` in English for the logs,
    and ``code`` with its ``params`` (strings: an instant as ISO 8601 UTC under ``until``) so the
    adviser reads it in their own language (``delivery.<code>`` in the catalogs)."""

    ok: bool
    # What the channel calls what was sent: tweet ids, the e-mail's Message-ID.
    external_ids: tuple[str, ...] = ()
    error: str = ""  # readable English, never a secret
    retryable: bool = False
    code: str = ""  # a stable reason, e.g. "smtp.timeout"; empty when sent
    # Not hashed (a dict is not hashable); equal results still hash alike.
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def failed(
        cls,
        code: str,
        error: str,
        *,
        retryable: bool = False,
        external_ids: tuple[str, ...] = (),
        **params: str,
    ) -> DeliveryResult:
        """A failure with its code and parameters (``error`` is cut to 300 characters)."""
        return cls(False, external_ids, error[:300], retryable, code, params)


@runtime_checkable
class Connector(Protocol):
    """One running channel account: receives into a sink, sends replies."""

    channel: Channel
    account: str

    async def run(self, sink: InboundSink, cursors: CursorStore) -> None:
        """Receive until cancelled; must survive the channel's errors (back off, report status)."""
        ...

    async def send(self, message: OutboundMessage) -> DeliveryResult: ...


@dataclass(slots=True)
class StatusNote:
    """One part of a status's ``detail`` as a stable code and its parameters, so the accounts
    page can say it in the manager's language (``detail`` stays English, for logs)."""

    code: str
    params: dict[str, str] = field(default_factory=dict)
    scope: str = ""  # the part of the account it is about, e.g. "mentions"


@dataclass(slots=True)
class ConnectorStatus:
    """What an admin sees of one account's connector."""

    state: str = "starting"  # starting | connected | polling | rate_limited | error | stopped
    detail: str = ""  # readable, never a secret
    notes: list[StatusNote] = field(default_factory=list)  # ``detail``, coded
    last_message_at: datetime | None = None
    last_error_at: datetime | None = None
    counters: dict[str, int] = field(default_factory=dict)
