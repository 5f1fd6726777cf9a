"""Profiles that are probably the same visitor, offered to the adviser (never merged by
themselves). Two reasons, both strict so that a suggestion is right far more often than not:

* ``email``: an address this profile carries — recorded on an identity, an e-mail contact's own,
  written by the visitor in a chat or X message of theirs, or written in their X profile — is
  another profile's address (compared case-insensitively, whole addresses only);
* ``x_name_and_handle``: an X identity and an e-mail identity whose display names are equal
  (folded: any case, any accents, spaces collapsed) AND whose X handle equals the address's local
  part (``@ana_lopes`` and ``ana_lopes@example.org``). A name alone, or a handle alone, is not
  enough: "Marie" or "info" match strangers.

A suggested profile must be visible to the adviser (one of its conversations), like any profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.contacts import SuggestionOut, addresses, ids_of, is_erased, members, visible_count
from app.models import AuthorKind, Contact, Conversation, Direction, Message, User
from app.textnorm import key

# A whole address in free text: not part of a longer word on either side.
ADDRESS = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?![\w-])"
)
MESSAGES_READ = 200  # the visitor's latest messages searched for an address they gave
MAX_SUGGESTIONS = 5
MAX_ADDRESSES = 50
# Where a visitor may write their address themselves (an e-mail's body quotes others' too).
TYPED_CHANNELS = ("webchat", "twitter")


def found_addresses(text: str) -> list[str]:
    """The e-mail addresses written in ``text`` (trailing dots of a sentence left out)."""
    return [m.group(0).rstrip(".") for m in ADDRESS.finditer(text)]


async def given_addresses(session: AsyncSession, profile: Sequence[Contact]) -> set[str]:
    """The addresses the profile carries or its visitor wrote, case-folded: its own first, then
    the newest written, at most ``MAX_ADDRESSES`` (a pasted list of thousands must not become
    one query with thousands of parameters)."""
    found: dict[str, None] = {}  # ordered: the profile's own addresses first
    _add(found, (a for c in profile for a in addresses(c)))
    for contact in profile:
        if contact.channel == "twitter":  # their own description or link may give it
            for value in repository.json_object(contact.profile).values():
                _add(found, found_addresses(str(value)))
    chats = [c.id for c in profile if c.channel in TYPED_CHANNELS and c.id is not None]
    if chats:
        texts = (
            await session.exec(
                select(Message.text)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(
                    col(Conversation.contact_id).in_(chats),
                    Message.direction == Direction.IN,
                    Message.author_kind == AuthorKind.VISITOR,
                )
                .order_by(col(Message.id).desc())
                .limit(MESSAGES_READ)
            )
        ).all()
        for text in texts:
            _add(found, found_addresses(text))
    return set(found)


def _add(found: dict[str, None], values: Iterable[str]) -> None:
    """Adds case-folded addresses to ``found`` until it holds ``MAX_ADDRESSES``."""
    for value in values:
        if len(found) >= MAX_ADDRESSES:
            return
        found[value.casefold()] = None


def _handle(contact: Contact) -> str:
    return contact.handle.removeprefix("@").casefold()


async def suggestions(
    session: AsyncSession, user: User, profile: Sequence[Contact]
) -> list[SuggestionOut]:
    """Other profiles of the destination that are probably this visitor, as ``user`` may see."""
    own = set(ids_of(profile))
    destination_id = profile[0].destination_id
    wanted = await given_addresses(session, profile)
    # (contact, reason, detail) of each identity elsewhere that matches.
    hits: list[tuple[Contact, str, str]] = []
    if wanted:
        rows = (
            await session.exec(
                select(Contact).where(
                    Contact.destination_id == destination_id,
                    or_(
                        func.lower(Contact.email).in_(wanted),
                        (col(Contact.channel) == "email")
                        & func.lower(Contact.external_id).in_(wanted),
                    ),
                )
            )
        ).all()
        for row in rows:
            match = next((a for a in addresses(row) if a.casefold() in wanted), "")
            if match:
                hits.append((row, "email", match))
    hits.extend(await _name_and_handle(session, profile))
    out: list[SuggestionOut] = []
    seen: set[int] = set()
    for contact, reason, detail in hits:
        if contact.id in own or is_erased(contact):
            continue
        root = contact
        if contact.merged_into_id is not None:
            root = await session.get(Contact, contact.merged_into_id) or contact
        if root.id is None or root.id in own or root.id in seen:
            continue
        other = await members(session, root)
        if await visible_count(session, user, ids_of(other)) == 0:
            continue  # a profile the adviser cannot see is never revealed
        seen.add(root.id)
        out.append(
            SuggestionOut(
                profile_id=root.id,
                reason=reason,
                detail=detail,
                name=root.name or next((c.name for c in other if c.name), ""),
                channels=list(dict.fromkeys(c.channel for c in other)),
            )
        )
        if len(out) >= MAX_SUGGESTIONS:
            break
    return out


async def _name_and_handle(
    session: AsyncSession, profile: Sequence[Contact]
) -> list[tuple[Contact, str, str]]:
    """X and e-mail identities elsewhere whose name and handle/local part both match."""
    destination_id = profile[0].destination_id
    hits: list[tuple[Contact, str, str]] = []
    for contact in profile:
        name = key(contact.name)
        if not name or is_erased(contact):
            continue
        if contact.channel == "twitter" and _handle(contact):
            handle = _handle(contact)
            rows = (
                await session.exec(
                    select(Contact).where(
                        Contact.destination_id == destination_id,
                        Contact.channel == "email",
                        func.lower(Contact.external_id).startswith(handle + "@", autoescape=True),
                    )
                )
            ).all()
            for row in rows:
                if key(row.name) == name and row.external_id.casefold().partition("@")[0] == handle:
                    hits.append((row, "x_name_and_handle", contact.handle))
        for address in addresses(contact):
            local = address.casefold().partition("@")[0]
            rows = (
                await session.exec(
                    select(Contact).where(
                        Contact.destination_id == destination_id,
                        Contact.channel == "twitter",
                        func.lower(Contact.handle).in_([local, "@" + local]),
                    )
                )
            ).all()
            for row in rows:
                if key(row.name) == name and _handle(row) == local:
                    hits.append((row, "x_name_and_handle", row.handle))
    return hits
