"""One visitor, one profile: a root contact (``merged_into_id IS NULL``) and the contacts merged
into it (always flat: every member points at the root, never at another member).

What a user reads of a profile follows the conversations' rights (``repository.visible_filter``):
the profile exists for them only if they may see one of its conversations; the others are
counted, never shown (no subject, preview or label of theirs). Merges, their undoing and the
corrections of a field live in ``app.contact_actions``; suggestions in ``app.contact_suggestions``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.actions import ActionError
from app.events import ConversationOut, Shown
from app.models import ERASED, Contact, ContactEvent, Conversation, User

# The newest conversations listed in a profile; the rest are counted (a visitor who wrote every
# day of a season still opens in one request).
MAX_LISTED = 200
NOT_FOUND = "contacts.error.not_found"


class IdentityOut(BaseModel):
    """One identity of the visitor: how one channel knows them."""

    id: int
    channel: str
    name: Shown
    handle: Shown
    email: Shown
    language: str
    page: Shown = ""  # chat: the page (origin + path) they last wrote from
    site: Shown = ""  # chat: its site (origin)
    created_at: datetime


class ContactEventOut(BaseModel):
    id: int
    kind: str  # merge | unmerge | correct
    field: str = ""
    old_value: Shown = ""
    new_value: Shown = ""
    moved: list[int] = []
    other_contact_id: int | None = None
    actor_name: Shown = ""
    at: datetime
    undone_at: datetime | None = None
    can_undo: bool = False  # a merge not yet undone


class SuggestionOut(BaseModel):
    """Another profile that is probably the same visitor: offered, never merged by itself."""

    profile_id: int
    reason: str  # email | x_profile_email | x_name_and_handle
    detail: Shown  # the address or handle that matched
    name: Shown
    channels: list[str]


class ProfileOut(BaseModel):
    id: int  # the root contact
    contact_ids: list[int]
    name: Shown
    emails: list[Shown]
    handles: list[Shown]
    language: str
    identities: list[IdentityOut]
    channels: list[str]
    first_contact: datetime | None
    last_contact: datetime | None
    conversations: list[ConversationOut]  # newest first, only those the user may see
    conversations_total: int  # the ones the user may see (some may be past MAX_LISTED)
    other_conversations: int  # the profile's conversations the user may not see
    events: list[ContactEventOut]
    suggestions: list[SuggestionOut] = []


def is_erased(contact: Contact) -> bool:
    return contact.external_id.startswith(ERASED)


async def members(session: AsyncSession, root: Contact) -> list[Contact]:
    """The profile's contacts, its root first."""
    rows = (
        await session.exec(
            select(Contact).where(Contact.merged_into_id == root.id).order_by(col(Contact.id))
        )
    ).all()
    return [root, *rows]


async def root_of(session: AsyncSession, destination_id: int, contact_id: int) -> Contact | None:
    """The root of the profile ``contact_id`` belongs to (None: no such contact here)."""
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.destination_id != destination_id:
        return None
    if contact.merged_into_id is None:
        return contact
    root = await session.get(Contact, contact.merged_into_id)
    return root if root is not None and root.destination_id == destination_id else contact


async def visible_count(session: AsyncSession, user: User, contact_ids: Sequence[int]) -> int:
    found = await session.exec(
        select(func.count())
        .select_from(Conversation)
        .where(col(Conversation.contact_id).in_(contact_ids), repository.visible_filter(user))
    )
    return int(found.one())


async def check_profile(session: AsyncSession, user: User, contact_id: int) -> list[Contact]:
    """The profile of ``contact_id`` (root first) if ``user`` may see one of its conversations;
    404 otherwise, another destination's included (never reveal it exists)."""
    root = await root_of(session, user.destination_id, contact_id)
    if root is None:
        raise ActionError(NOT_FOUND, 404)
    profile = await members(session, root)
    if await visible_count(session, user, ids_of(profile)) == 0:
        raise ActionError(NOT_FOUND, 404)
    return profile


def ids_of(contacts: Sequence[Contact]) -> list[int]:
    return [c.id for c in contacts if c.id is not None]


def chat_origin(contact: Contact) -> tuple[str, str]:
    """The page and site a chat visitor last wrote from, as recorded in their profile."""
    shown = repository.json_object(contact.profile)
    return str(shown.get("page", "")), str(shown.get("site", ""))


def addresses(contact: Contact) -> list[str]:
    """The e-mail addresses an identity carries: recorded, or an e-mail contact's own."""
    found = [contact.email] if contact.email else []
    if contact.channel == "email" and "@" in contact.external_id and not is_erased(contact):
        found.append(contact.external_id)
    return found


def _first(values: Sequence[str]) -> str:
    return next((v for v in values if v), "")


def _unique(values: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return list(seen.values())


async def events_of(
    session: AsyncSession, contact_ids: Sequence[int], limit: int = 100
) -> list[ContactEventOut]:
    """The history of a profile (its identities' events too), newest first."""
    rows = (
        await session.exec(
            select(ContactEvent)
            .where(col(ContactEvent.contact_id).in_(contact_ids))
            .order_by(col(ContactEvent.at).desc(), col(ContactEvent.id).desc())
            .limit(limit)
        )
    ).all()
    actors = await repository.cached_by_id(session, User, {r.actor_id for r in rows if r.actor_id})
    out = []
    for row in rows:
        actor = actors.get(row.actor_id) if row.actor_id else None
        out.append(
            ContactEventOut(
                id=row.id or 0,
                kind=row.kind,
                field=row.field,
                old_value=row.old_value,
                new_value=row.new_value,
                moved=moved_ids(row),
                other_contact_id=row.other_contact_id,
                actor_name=actor.name if actor else "",
                at=row.at,
                undone_at=row.undone_at,
                can_undo=row.kind == "merge" and row.undone_at is None,
            )
        )
    return out


def moved_ids(event: ContactEvent) -> list[int]:
    try:
        parsed = json.loads(event.moved or "[]")
    except ValueError:
        return []
    return [int(i) for i in parsed if isinstance(i, int)] if isinstance(parsed, list) else []


async def read_profile(session: AsyncSession, user: User, contact_id: int) -> ProfileOut:
    """The profile behind ``contact_id`` as ``user`` may see it."""
    profile = await check_profile(session, user, contact_id)
    root = profile[0]
    ids = ids_of(profile)
    visible = (
        await session.exec(
            select(Conversation)
            .where(col(Conversation.contact_id).in_(ids), repository.visible_filter(user))
            .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
        )
    ).all()
    total = (
        await session.exec(
            select(func.count())
            .select_from(Conversation)
            .where(col(Conversation.contact_id).in_(ids))
        )
    ).one()
    listed = await repository.conversations_out(session, visible[:MAX_LISTED])
    identities = []
    for contact in profile:
        page, site = chat_origin(contact) if contact.channel == "webchat" else ("", "")
        identities.append(
            IdentityOut(
                id=contact.id or 0,
                channel=contact.channel,
                name=contact.name,
                handle=contact.handle,
                email=contact.email,
                language=contact.language,
                page=page,
                site=site,
                created_at=contact.created_at,
            )
        )
    return ProfileOut(
        id=root.id or 0,
        contact_ids=ids,
        name=root.name or _first([c.name for c in profile]),
        emails=_unique([a for c in profile for a in addresses(c)]),
        handles=_unique([c.handle for c in profile if c.channel == "twitter"]),
        language=root.language or _first([c.language for c in profile]),
        identities=identities,
        channels=list(dict.fromkeys(c.channel for c in profile if c.channel)),
        first_contact=min((c.created_at for c in visible), default=None),
        last_contact=max((c.last_message_at for c in visible), default=None),
        conversations=listed,
        conversations_total=len(visible),
        other_conversations=int(total) - len(visible),
        events=await events_of(session, ids),
    )
