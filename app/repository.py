"""Queries shared by several actions and views, and the projections sent to browsers."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_
from sqlalchemy import select as select_core
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, orm_reads, visitor_presence
from app.dashboard import DEFAULT_TARGETS
from app.events import (
    AttachmentOut,
    AudienceFields,
    ConversationOut,
    LabelOut,
    MessageOut,
    staff_sees,
)
from app.models import (
    ERASED,
    ERASED_DETAILS,
    Account,
    Activity,
    Contact,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    Destination,
    Label,
    Message,
    Office,
    Role,
    StoredAttachment,
    User,
)
from app.security import SessionData, password_stamp
from app.services import Services

T = TypeVar("T", Account, Office, Contact, User)


# The chat's hot statements are built once, with bound parameters: building a statement and its
# cache key costs more than running a point look-up on SQLite.
_ACCOUNT_BY_KEY = select(Account).where(Account.key == bindparam("key"))
_ACCOUNT_AND_DESTINATION = (
    select(Account, Destination)
    .join(Destination, col(Destination.id) == Account.destination_id)
    .where(Account.key == bindparam("key"))
)


async def account_by_key(session: AsyncSession, key: str) -> Account | None:
    return (await session.exec(_ACCOUNT_BY_KEY, params={"key": key})).first()


async def account_for_ingest(session: AsyncSession, key: str) -> Account | None:
    """The account of ``key``, its destination read in the same statement and held (the
    router and the response turn ask for it in the same unit), both made past the ORM's
    loading (app.orm_reads)."""
    found = await orm_reads.objects(session, _ACCOUNT_AND_DESTINATION, {"key": key})
    if not found:
        return None
    account, destination = found[0]
    db.hold(session, destination)
    return cast(Account, account)


async def session_holder(session: AsyncSession, signed: SessionData) -> User | None:
    """The user of the session ``signed`` if it still holds, read in ``session``'s unit of
    work: the user exists, is active, and the session was opened with their current password
    (``password_stamp``: one from before stamps existed, which a password set from the CLI
    without Redis could not end, no longer holds)."""
    user = await orm_reads.get(session, User, signed.user_id)
    if user is None or not user.active or signed.stamp != password_stamp(user.password_hash):
        return None
    return user


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email.strip().lower()))).first()


def can_see(user: User, conversation: Conversation) -> bool:
    """Per-office permission: an adviser sees their office's conversations and those assigned
    to them; a destination manager sees the whole destination."""
    if user.destination_id != conversation.destination_id or not user.active:
        return False
    return staff_sees(
        manager=user.role == Role.DESTINATION_MANAGER,
        user_id=user.id,
        user_office_id=user.office_id,
        office_id=conversation.office_id,
        assignee_id=conversation.assignee_id,
    )


def visible_filter(user: User) -> ColumnElement[bool]:
    """The SQL form of :func:`can_see`."""
    same_destination = col(Conversation.destination_id) == user.destination_id
    if user.role == Role.DESTINATION_MANAGER:
        return same_destination
    return and_(
        same_destination,
        or_(
            col(Conversation.office_id) == user.office_id, col(Conversation.assignee_id) == user.id
        ),
    )


def list_filter(user: User, status: str) -> ColumnElement[bool]:
    """The rows of one of the inbox's lists: open, resolved, all, mine (open, assigned to the
    user), queued (open, assigned to nobody) — never spam — or spam (app.spam)."""
    if status == "spam":
        return col(Conversation.spam).is_(True)
    return and_(col(Conversation.spam).is_(False), _list_filter(user, status))


def _list_filter(user: User, status: str) -> ColumnElement[bool]:
    is_open = col(Conversation.status) == ConversationStatus.OPEN
    if status == "open":
        return is_open
    if status == "resolved":
        return col(Conversation.status) == ConversationStatus.RESOLVED
    if status == "mine":
        return and_(is_open, col(Conversation.assignee_id) == user.id)
    if status == "queued":
        return and_(is_open, col(Conversation.assignee_id).is_(None))
    if status == "all":
        return col(Conversation.id).is_not(None)
    raise ValueError(f"unknown list {status!r}")


async def list_page(
    session: AsyncSession,
    user: User,
    status: str,
    limit: int,
    after: ColumnElement[bool] | None = None,
    label_id: int | None = None,
) -> list[Conversation]:
    """One page of a list, newest first (ties by id), one row more than ``limit`` when more
    rows follow; only the conversations carrying ``label_id`` when given (app.labels)."""
    query = select(Conversation).where(visible_filter(user), list_filter(user, status))
    if after is not None:
        query = query.where(after)
    if label_id is not None:
        query = query.where(
            col(Conversation.id).in_(
                select(ConversationLabel.conversation_id).where(
                    ConversationLabel.label_id == label_id
                )
            )
        )
    query = query.order_by(
        col(Conversation.last_message_at).desc(), col(Conversation.id).desc()
    ).limit(limit + 1)
    return list((await session.exec(query)).all())


def target_seconds(account: Account) -> int:
    """The account's first-response target: its own, else its channel's default."""
    if account.target_seconds:
        return account.target_seconds
    return DEFAULT_TARGETS.get(account.channel, DEFAULT_TARGETS["twitter"])


async def live_visitors(services: Services, rows: Sequence[Conversation]) -> set[str]:
    """The live chat visitors among ``rows``' destinations (no Redis call without a chat)."""
    chats = [c for c in rows if c.channel == "webchat"]
    if len(chats) <= LOOKUP_ONE_BY_ONE:
        # An event's one conversation: ask for its visitor only, not the whole live set.
        return await visitor_presence.live_among(services, chats)
    found: set[str] = set()
    for destination_id in {c.destination_id for c in chats}:
        found |= await visitor_presence.live_members(services, destination_id)
    return found


LOOKUP_ONE_BY_ONE = 8


def is_live(conversation: Conversation, live: Collection[str]) -> bool:
    """Whether the chat visitor of ``conversation`` has the widget open (``live``: the members
    of ``visitor_presence.live_members``)."""
    return conversation.channel == "webchat" and visitor_presence.member_of(conversation) in live


async def conversations_out(
    session: AsyncSession, rows: Sequence[Conversation], live: Collection[str] = ()
) -> list[ConversationOut]:
    if not rows:
        return []
    accounts = await cached_by_id(session, Account, {c.account_id for c in rows})
    offices = await cached_by_id(session, Office, {c.office_id for c in rows})
    contacts, named = await contacts_named(session, {c.contact_id for c in rows})
    users = await cached_by_id(session, User, {c.assignee_id for c in rows if c.assignee_id})
    labels = await labels_of(session, [c.id for c in rows if c.id is not None])
    out = []
    for c in rows:
        assert c.id is not None
        contact = contacts[c.contact_id]
        assignee = users.get(c.assignee_id) if c.assignee_id else None
        out.append(
            ConversationOut(
                id=c.id,
                account_id=c.account_id,
                account_name=accounts[c.account_id].name,
                channel=c.channel,
                office_id=c.office_id,
                office_name=offices[c.office_id].name,
                assignee_id=c.assignee_id,
                assignee_name=assignee.name if assignee else "",
                contact_name=contact.name or named.get(contact.merged_into_id or c.contact_id, ""),
                contact_handle=contact.handle,
                contact_profile=json_object(contact.profile),
                subject=c.subject,
                status=c.status,
                unread=c.unread,
                preview=c.preview,
                created_at=c.created_at,
                last_message_at=c.last_message_at,
                waiting_since=c.waiting_since,
                direct=c.channel == "twitter" and c.thread_key.startswith("dm:"),
                erased=c.thread_key.startswith(ERASED),
                visitor_live=is_live(c, live),
                target_seconds=target_seconds(accounts[c.account_id]),
                spam=c.spam,
                contact_id=c.contact_id,
                profile_id=contact.merged_into_id or c.contact_id,
                priority=c.priority,
                labels=labels.get(c.id, []),
            )
        )
    return out


_LABELS = select(ConversationLabel.conversation_id, Label.id, Label.name, Label.color).join(
    Label, col(Label.id) == ConversationLabel.label_id
)
_LABELS_OF = _LABELS.where(
    col(ConversationLabel.conversation_id).in_(bindparam("ids", expanding=True))
).order_by(col(Label.key))
# One conversation's (a live event's): no parameter to expand at each call.
_LABELS_OF_ONE = _LABELS.where(col(ConversationLabel.conversation_id) == bindparam("id")).order_by(
    col(Label.key)
)


async def labels_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[LabelOut]]:
    """The labels of each conversation, by name: one query for a whole page."""
    if not ids:
        return {}
    found: dict[int, list[LabelOut]] = {}
    params: dict[str, Any]
    if len(ids) == 1:
        statement, params = _LABELS_OF_ONE, {"id": ids[0]}
    else:
        statement, params = _LABELS_OF, {"ids": list(ids)}
    for conversation_id, label_id, name, color in await db.plain_rows(session, statement, params):
        found.setdefault(conversation_id, []).append(LabelOut(id=label_id, name=name, color=color))
    return found


@dataclass(frozen=True, slots=True)
class ContactName:
    """What a conversation's line shows of its contact (read without building the model)."""

    id: int
    name: str
    handle: str
    profile: str
    merged_into_id: int | None


def _contacts_named(one: bool) -> Select[int | None, str, str, str, int | None]:
    """The read of :func:`contacts_named`; ``one``: of a single contact, whose statement needs
    no expanding of its parameter at each call (a live event's, on the chat's hot path)."""

    def among(column: Any) -> ColumnElement[bool]:
        if one:
            return cast(ColumnElement[bool], column == bindparam("id"))
        return cast(ColumnElement[bool], column.in_(bindparam("ids", expanding=True)))

    roots = select(func.coalesce(col(Contact.merged_into_id), col(Contact.id))).where(
        among(col(Contact.id))
    )
    return select_core(
        col(Contact.id),
        col(Contact.name),
        col(Contact.handle),
        col(Contact.profile),
        col(Contact.merged_into_id),
    ).where(
        or_(
            among(col(Contact.id)),
            col(Contact.id).in_(roots),
            col(Contact.merged_into_id).in_(roots),
        )
    )


_CONTACTS_NAMED = _contacts_named(one=False)
_CONTACT_NAMED = _contacts_named(one=True)


async def contacts_named(
    session: AsyncSession, ids: set[int]
) -> tuple[dict[int, ContactName], dict[int, str]]:
    """The contacts ``ids`` and the names their profiles give to those the channel told no
    name (an anonymous chat visitor merged with their e-mail), per profile root id: one query
    for a whole page, which reads each contact with the other identities of its profile (a
    handful at most). Read past the ORM: every live event of a conversation reads them."""
    params: dict[str, Any]
    if len(ids) == 1:
        statement, params = _CONTACT_NAMED, {"id": next(iter(ids))}
    else:
        statement, params = _CONTACTS_NAMED, {"ids": list(ids)}
    rows = [ContactName(*row) for row in await db.plain_rows(session, statement, params)]
    contacts = {c.id: c for c in rows if c.id in ids}
    nameless = {c.merged_into_id or c.id for c in contacts.values() if not c.name}
    return contacts, _names(rows, nameless)


def _names(members: Sequence[ContactName], roots: Collection[int | None]) -> dict[int, str]:
    """Per profile root id among ``roots``: the root's name, else the first name one of its
    identities (``members``) has."""
    names: dict[int, str] = {}
    for member in sorted(members, key=lambda m: (m.merged_into_id is not None, m.id)):
        root = member.merged_into_id or member.id
        if root in roots and member.name and not names.get(root):
            names[root] = member.name
    return names


async def live_view(
    services: Services, session: AsyncSession, conversation: Conversation, *, live: bool = False
) -> ConversationOut:
    """One conversation as the browsers see it, ``visitor_live`` included (``live``: known
    to be, its visitor having just written over their open socket)."""
    if live:
        return await conversation_out(
            session, conversation, {visitor_presence.member_of(conversation)}
        )
    return await conversation_out(
        session, conversation, await live_visitors(services, [conversation])
    )


async def conversation_out(
    session: AsyncSession, conversation: Conversation, live: Collection[str] = ()
) -> ConversationOut:
    return (await conversations_out(session, [conversation], live))[0]


async def with_presence(
    services: Services,
    view: ConversationOut,
    conversation: Conversation,
    account: Account,
    *,
    live: bool = False,
) -> ConversationOut:
    """``view`` (read in the unit of work that wrote it, before its commit) with its chat
    visitor's presence: ``live`` when known (they just wrote over their open socket), else
    this worker's sockets, else Redis — never asked while the unit of work holds its write."""
    if conversation.channel != "webchat":
        return view
    visitor_key = audience(conversation, account)["visitor_key"]
    if live or services.hub.has_visitor(conversation.destination_id, visitor_key):
        here = True
    else:
        here = is_live(conversation, await live_visitors(services, [conversation]))
    return view if view.visitor_live == here else view.model_copy(update={"visitor_live": here})


async def _by_id(session: AsyncSession, model: type[T], ids: set[int]) -> dict[int, T]:
    rows = (await session.exec(select(model).where(col(model.id).in_(ids)))).all()
    return {row.id: row for row in rows if row.id is not None}


# Accounts, offices and users change rarely and are read on every event for their names: each
# worker keeps them a short while instead of querying them for every message.
DISPLAY_TTL = 30.0
_display: dict[tuple[type[Any], int], tuple[float, Any]] = {}


async def cached_by_id(session: AsyncSession, model: type[T], ids: set[int]) -> dict[int, T]:
    now = time.monotonic()
    found: dict[int, T] = {}
    for key in ids:
        hit = _display.get((model, key))
        if hit is not None and now - hit[0] < DISPLAY_TTL:
            found[key] = hit[1]
    missing = ids - found.keys()
    if missing:
        for key, row in (await _by_id(session, model, missing)).items():
            _display[(model, key)] = (now, row)
            found[key] = row
    return found


async def messages(
    session: AsyncSession, conversation_id: int, message_id: int | None = None
) -> list[Message]:
    """The conversation's messages in order; only ``message_id`` when given."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if message_id is not None:
        query = query.where(Message.id == message_id)
    query = query.order_by(col(Message.created_at), col(Message.id))
    return list((await session.exec(query)).all())


async def author_names(session: AsyncSession, rows: Sequence[Message]) -> dict[int, str]:
    ids = {m.author_user_id for m in rows if m.author_user_id}
    if not ids:
        return {}
    return {u.id: u.name for u in (await cached_by_id(session, User, ids)).values() if u.id}


def message_out(
    message: Message,
    author_name: str = "",
    attachments: Sequence[StoredAttachment] = (),
    mentions: Sequence[int] = (),
) -> MessageOut:
    assert message.id is not None
    return MessageOut(
        id=message.id,
        conversation_id=message.conversation_id,
        direction=message.direction,
        author_kind=message.author_kind,
        author_name=author_name,
        text=message.text,
        html=message.html,
        kind=message.kind,
        created_at=message.created_at,
        delivery_status=message.delivery_status,
        delivery_error=message.delivery_error,
        delivery_code=message.delivery_code,
        delivery_params=json.loads(message.delivery_params or "{}"),
        client_id=message.client_id,
        quote_start=message.quote_start,
        attachments=[
            AttachmentOut(
                id=a.id or 0,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                available=a.stored,
                url=a.url,
            )
            for a in attachments
        ],
        mentions=list(mentions),
        sent_at=message.sent_at,
        details=shown_details(message.details),
        erased=message.details == ERASED_DETAILS,
    )


def shown_details(value: str) -> dict[str, Any]:
    """A message's details as the browser gets them: the app's own keys left out (the content
    digest that tells apart mails sharing a Message-ID), nothing of an erased message."""
    if value == ERASED_DETAILS:
        return {}
    details = json_object(value)
    details.pop("fingerprint", None)
    return details


def json_object(value: str) -> dict[str, Any]:
    """A JSON object column as a dict; "" or anything but an object reads as {}."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


async def messages_out(
    session: AsyncSession, conversation_id: int, message_id: int | None = None
) -> list[MessageOut]:
    """The conversation's messages as the thread shows them; only ``message_id`` when given."""
    rows = await messages(session, conversation_id, message_id)
    names = await author_names(session, rows)
    files: dict[int, list[StoredAttachment]] = {}
    ids = [m.id for m in rows if m.id is not None]
    if ids:
        # Listing only: the file contents stay in the database until someone downloads one.
        query = (
            select(StoredAttachment)
            .where(col(StoredAttachment.message_id).in_(ids))
            .options(defer(StoredAttachment.data))  # type: ignore[arg-type]
        )
        for row in (await session.exec(query)).all():
            files.setdefault(row.message_id, []).append(row)
    mentions = await mentions_of(session, conversation_id, message_id)
    return [
        message_out(
            m,
            names.get(m.author_user_id or 0, ""),
            files.get(m.id or 0, ()),
            mentions.get(m.id or 0, ()),
        )
        for m in rows
    ]


async def mentions_of(
    session: AsyncSession, conversation_id: int, message_id: int | None = None
) -> dict[int, list[int]]:
    """The colleagues each note of a conversation (or only ``message_id``) mentions: message
    id → user ids."""
    query = select(Activity.message_id, Activity.user_id).where(
        Activity.conversation_id == conversation_id, Activity.kind == "mention"
    )
    if message_id is not None:
        query = query.where(Activity.message_id == message_id)
    rows = (await session.exec(query.order_by(col(Activity.id)))).all()
    found: dict[int, list[int]] = {}
    for message_id, user_id in rows:
        if message_id is not None and user_id is not None:
            found.setdefault(message_id, []).append(user_id)
    return found


def audience(conversation: Conversation, account: Account) -> AudienceFields:
    """Who receives the events of ``conversation``."""
    assert conversation.id is not None
    chat = account.channel == "webchat"
    return AudienceFields(
        conversation_id=conversation.id,
        office_id=conversation.office_id,
        assignee_id=conversation.assignee_id,
        visitor_key=f"{account.key}:{conversation.thread_key}" if chat else "",
    )
