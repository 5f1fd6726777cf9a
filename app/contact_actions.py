"""What advisers do to a visitor's profile: correct a field, merge two profiles, undo a merge.

``check_*`` validates untrusted input; the others write one transaction, record a
``ContactEvent`` (who, when, what) and, after the commit, publish ``conversation.changed`` for
every conversation whose profile or visitor name changed, so the lists follow live.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.actions import ActionError
from app.contacts import check_profile, ids_of, is_erased, moved_ids
from app.events import ConversationChanged
from app.models import Account, Contact, ContactEvent, Conversation, User
from app.services import Services

FIELDS = ("name", "email", "language")
MAX_NAME = 200
# A language as the catalogs and channels name it: ISO 639-1 or 639-2/3, lower case.
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# RFC 5322 "dot-atom" local part and an internet host name (IDNA labels checked apart).
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check_name(value: str) -> str:
    """1 to 200 characters once trimmed, no control character (a line break, a NUL)."""
    name = value.strip()
    if not name or len(name) > MAX_NAME:
        raise ActionError("contacts.error.name_length")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        raise ActionError("contacts.error.name_control")
    return name


def check_email(value: str) -> str:
    """A deliverable-looking address: ``local@host.tld``, the local part an RFC 5322 dot-atom of
    at most 64 characters, the host two or more DNS labels (international names through IDNA),
    the whole at most 254 characters. "" clears a recorded address."""
    address = value.strip()
    if not address:
        return ""
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254 or len(local) > 64 or not LOCAL_PART.match(local):
        raise ActionError("contacts.error.email")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ActionError("contacts.error.email") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        raise ActionError("contacts.error.email")
    if labels[-1].isdigit():  # a bare IP address is no mailbox a visitor gives
        raise ActionError("contacts.error.email")
    return f"{local}@{domain.lower()}"


def check_language(value: str) -> str:
    language = value.strip().lower()
    if not LANGUAGE.match(language):
        raise ActionError("contacts.error.language")
    return language


def check_changes(changes: dict[str, str]) -> dict[str, str]:
    if not changes:
        raise ActionError("contacts.error.nothing_to_change")
    checks = {"name": check_name, "email": check_email, "language": check_language}
    return {field: checks[field](value) for field, value in changes.items()}


async def correct(
    services: Services, user: User, contact_id: int, changes: dict[str, str]
) -> list[ContactEvent]:
    """Corrects the visitor's name, e-mail or language (recorded, field by field). A name or
    language is the visitor's own on every identity of the profile; an address is the root's."""
    clean = check_changes(changes)
    now = services.clock.now()
    async with services.db.session() as session:
        profile = await check_profile(session, user, contact_id)
        root = profile[0]
        if is_erased(root):
            raise ActionError("contacts.error.erased", 409)
        recorded = []
        for field, value in clean.items():
            old = str(getattr(root, field))
            if old == value:
                continue
            # An erased identity stays erased: nothing is written back into it.
            targets = [root] if field == "email" else [c for c in profile if not is_erased(c)]
            for contact in targets:
                setattr(contact, field, value)
                session.add(contact)
            event = ContactEvent(
                destination_id=root.destination_id,
                contact_id=root.id or 0,
                kind="correct",
                field=field,
                old_value=old[:320],
                new_value=value[:320],
                actor_id=user.id,
                at=now,
            )
            session.add(event)
            recorded.append(event)
        await session.commit()
    if recorded:
        await publish_profile(services, ids_of(profile))
    return recorded


async def merge(services: Services, user: User, contact_id: int, other_id: int) -> ContactEvent:
    """Merges the profile of ``other_id`` into the profile of ``contact_id`` (whose root stays
    the root): one action, recorded with the contacts it moved, reversible with ``unmerge``."""
    async with services.db.session() as session:
        profile = await check_profile(session, user, contact_id)
        other = await check_profile(session, user, other_id)  # 404 as well: same rule
        root, other_root = profile[0], other[0]
        if root.id == other_root.id:
            raise ActionError("contacts.error.same_profile")
        if is_erased(root) or is_erased(other_root):
            raise ActionError("contacts.error.erased", 409)
        moved = await _move_under(session, root.id or 0, other_root.id or 0)
        event = ContactEvent(
            destination_id=root.destination_id,
            contact_id=root.id or 0,
            kind="merge",
            other_contact_id=other_root.id,
            moved=json.dumps(moved),
            actor_id=user.id,
            at=services.clock.now(),
        )
        session.add(event)
        await session.commit()
        await session.refresh(event)
    await publish_profile(services, moved)
    return event


async def _move_under(session: AsyncSession, root_id: int, other_root_id: int) -> list[int]:
    """Moves a whole profile under ``root_id`` with conditional writes, so that two merges at
    once (A into B while B goes into A) cannot make a chain or a loop: each write checks that
    what was read still holds, else the second one is refused (409). The contact ids moved,
    the other root first (``unmerge`` makes it a root again).

    The two rows are written in the order of their ids, whichever is the root: two merges of
    the same pair at once then queue on the same first row (PostgreSQL would otherwise detect
    a deadlock, each holding the row the other writes next, and fail one of them)."""
    writes = {
        root_id: update(Contact)
        .where(col(Contact.id) == root_id, col(Contact.merged_into_id).is_(None))
        .values(merged_into_id=None),
        other_root_id: update(Contact)
        .where(col(Contact.id) == other_root_id, col(Contact.merged_into_id).is_(None))
        .values(merged_into_id=root_id),
    }
    counts = {row: (await session.exec(writes[row])).rowcount for row in sorted(writes)}
    if counts[root_id] != 1 or counts[other_root_id] != 1:
        raise ActionError("contacts.error.changed", 409)
    rows = await session.exec(
        select(Contact.id).where(Contact.merged_into_id == other_root_id).order_by(col(Contact.id))
    )
    members = [i for i in rows.all() if i is not None]
    if members:
        await session.exec(
            update(Contact).where(col(Contact.id).in_(members)).values(merged_into_id=root_id)
        )
    return [other_root_id, *members]


async def unmerge(services: Services, user: User, contact_id: int, event_id: int) -> ContactEvent:
    """Undoes exactly one merge of this profile: the contacts it moved return to the profile
    they came from (those still here; a later merge stays as it is)."""
    async with services.db.session() as session:
        profile = await check_profile(session, user, contact_id)
        ids = ids_of(profile)
        event = await session.get(ContactEvent, event_id)
        if event is None or event.destination_id != user.destination_id:
            raise ActionError("contacts.error.event_not_found", 404)
        if event.contact_id not in ids:
            raise ActionError("contacts.error.event_not_found", 404)
        if event.kind != "merge":
            raise ActionError("contacts.error.not_a_merge")
        if event.undone_at is not None:
            raise ActionError("contacts.error.already_undone")
        moved = [i for i in moved_ids(event) if i in ids and i != profile[0].id]
        if not moved or event.other_contact_id not in moved:
            raise ActionError("contacts.error.nothing_to_undo")
        home = event.other_contact_id
        now = services.clock.now()
        # Written only if nobody undid it meanwhile (two clicks, two advisers): else 422.
        claimed = await session.exec(
            update(ContactEvent)
            .where(col(ContactEvent.id) == event.id, col(ContactEvent.undone_at).is_(None))
            .values(undone_at=now)
        )
        if claimed.rowcount != 1:
            raise ActionError("contacts.error.already_undone")
        for contact in profile:
            if contact.id in moved:
                contact.merged_into_id = None if contact.id == home else home
                session.add(contact)
        undo = ContactEvent(
            destination_id=event.destination_id,
            contact_id=profile[0].id or 0,
            kind="unmerge",
            other_contact_id=home,
            moved=json.dumps(moved),
            actor_id=user.id,
            at=now,
        )
        session.add(undo)
        await session.commit()
        await session.refresh(undo)
    await publish_profile(services, moved)
    return undo


async def publish_profile(services: Services, contact_ids: Sequence[int]) -> None:
    """``conversation.changed`` for every conversation of ``contact_ids`` (after the commit)."""
    async with services.db.session() as session:
        rows = await _conversations(session, contact_ids)
        views = await repository.conversations_out(session, rows)
        accounts = await repository.cached_by_id(session, Account, {c.account_id for c in rows})
    for conversation, view in zip(rows, views, strict=True):
        await services.hub.publish(
            conversation.destination_id,
            ConversationChanged(
                **repository.audience(conversation, accounts[conversation.account_id]),
                conversation=view,
            ),
        )


async def _conversations(session: AsyncSession, contact_ids: Sequence[int]) -> list[Conversation]:
    if not contact_ids:
        return []
    found = await session.exec(
        select(Conversation).where(col(Conversation.contact_id).in_(contact_ids))
    )
    return list(found.all())
