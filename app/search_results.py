"""A search's page: the conversations the user may see whose messages, notes, subject or
visitor match, newest first, each with its matching excerpts (``app.search_snippet``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, or_, union
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import pagination, repository, search
from app.models import (
    Contact,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    Destination,
    Direction,
    Message,
    Role,
    User,
)
from app.search import Kind
from app.search_snippet import segments

SNIPPETS = 3  # excerpts per conversation at most: the newest matches


@dataclass(frozen=True, slots=True)
class Filters:
    channel: str | None = None
    account_id: int | None = None
    office_id: int | None = None
    status: str | None = None  # open | resolved | spam (managers)
    label_id: int | None = None
    assignee_id: int | None = None
    since: date | None = None  # first day, in the destination's time zone
    until: date | None = None  # last day, included


def _period(zone: ZoneInfo, filters: Filters) -> list[ColumnElement[bool]]:
    """A conversation belongs to a period when it was active in it: begun before its end,
    last written to after its start (days are the destination's local days)."""
    out: list[ColumnElement[bool]] = []
    if filters.since is not None:
        start = datetime.combine(filters.since, time(0), zone)
        out.append(col(Conversation.last_message_at) >= start)
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), time(0), zone)
        out.append(col(Conversation.created_at) < end)
    return out


def _conditions(user: User, zone: ZoneInfo, filters: Filters) -> list[ColumnElement[bool]]:
    manager = user.role != Role.ADVISER
    out = [repository.visible_filter(user)]
    # Spam is out of every search but a manager's explicit "spam" one (as in the lists).
    out.append(col(Conversation.spam).is_(filters.status == "spam" and manager))
    if filters.status in ("open", "resolved"):
        out.append(col(Conversation.status) == ConversationStatus(filters.status))
    if filters.channel:
        out.append(col(Conversation.channel) == filters.channel)
    if filters.account_id is not None:
        out.append(col(Conversation.account_id) == filters.account_id)
    if filters.office_id is not None:
        out.append(col(Conversation.office_id) == filters.office_id)
    if filters.assignee_id is not None:
        out.append(col(Conversation.assignee_id) == filters.assignee_id)
    if filters.label_id is not None:
        out.append(
            exists().where(
                col(ConversationLabel.conversation_id) == col(Conversation.id),
                col(ConversationLabel.label_id) == filters.label_id,
            )
        )
    return out + _period(zone, filters)


async def page(
    session: AsyncSession,
    user: User,
    words: Sequence[str],
    filters: Filters,
    limit: int,
    start: pagination.Cursor | None,
) -> list[Conversation]:
    """One page of matching conversations, one row more than ``limit`` when more follow."""
    bind = await session.connection()
    hits = search.backend(bind.dialect.name).hits(words).subquery()
    # One list of conversation ids, read from the index's hits first: the rows are then fetched
    # by primary key (scanning the destination's conversations instead costs their number).
    direct = sa_select(hits.c.ref).where(hits.c.doc % 8 < Kind.NAME)
    by_contact = (
        sa_select(col(Conversation.id))
        .join(hits, col(Conversation.contact_id) == hits.c.ref)
        .where(hits.c.doc % 8 >= Kind.NAME)
    )
    zone = ZoneInfo(await _timezone(session, user.destination_id))
    query = select(Conversation).where(
        col(Conversation.id).in_(union(direct, by_contact)),
        *_conditions(user, zone, filters),
    )
    if start is not None:
        query = query.where(pagination.after(start))
    query = query.order_by(
        col(Conversation.last_message_at).desc(), col(Conversation.id).desc()
    ).limit(limit + 1)
    return list((await session.exec(query)).all())


async def _timezone(session: AsyncSession, destination_id: int) -> str:
    found = await session.get(Destination, destination_id)
    return found.timezone if found else "UTC"


async def snippets(
    session: AsyncSession, words: Sequence[str], rows: Sequence[Conversation]
) -> dict[int, list[dict[str, Any]]]:
    """The matching excerpts of each conversation of a page: its newest matching messages and
    notes, then its subject and its visitor's name, e-mail address and handle."""
    if not rows:
        return {}
    bind = await session.connection()
    hits = search.backend(bind.dialect.name).hits(words).subquery()
    ids = [c.id for c in rows]
    contact_ids = {c.contact_id for c in rows}
    found = (
        await bind.execute(
            sa_select(hits.c.doc, hits.c.ref).where(
                or_(
                    and_(hits.c.doc % 8 < Kind.NAME, col(hits.c.ref).in_(ids)),
                    and_(hits.c.doc % 8 >= Kind.NAME, col(hits.c.ref).in_(contact_ids)),
                )
            )
        )
    ).all()
    # Messages and notes first, newest first; then the conversation's and visitor's fields.
    docs = sorted((int(d) for d, _ in found), key=lambda d: (d % 8 != Kind.MESSAGE, -d))
    message_ids = [d // 8 for d in docs if d % 8 == Kind.MESSAGE]
    messages = {
        m.id: m
        for m in (await session.exec(select(Message).where(col(Message.id).in_(message_ids)))).all()
    }
    contacts = {
        c.id: c
        for c in (await session.exec(select(Contact).where(col(Contact.id).in_(contact_ids)))).all()
    }
    out: dict[int, list[dict[str, Any]]] = {c.id or 0: [] for c in rows}
    by_id = {c.id: c for c in rows}
    for d in docs:
        kind, ref = Kind(d % 8), d // 8
        if kind == Kind.MESSAGE and ref in messages:
            m = messages[ref]
            field = "note" if m.direction == Direction.NOTE else "message"
            _add(out[m.conversation_id], field, m.text, words, m.id, m.created_at)
        elif kind == Kind.SUBJECT and ref in by_id:
            _add(out[ref], "subject", by_id[ref].subject, words)
        elif ref in contacts:
            text = _contact_field(contacts[ref], kind)
            for c in rows:
                if c.contact_id == ref:
                    _add(out[c.id or 0], kind.name.lower(), text, words)
    return out


def _contact_field(contact: Contact, kind: Kind) -> str:
    if kind == Kind.NAME:
        return contact.name
    if kind == Kind.HANDLE:
        return contact.handle
    return contact.email or contact.external_id


def _add(
    into: list[dict[str, Any]],
    field: str,
    text: str,
    words: Sequence[str],
    message_id: int | None = None,
    at: datetime | None = None,
) -> None:
    if len(into) >= SNIPPETS:
        return
    into.append(
        {"field": field, "message_id": message_id, "at": at, "segments": segments(text, words)}
    )
