"""A search's page: the conversations the user may see whose messages, notes, subject or
visitor match, newest matching first, each with its matching excerpts (``app.search_snippet``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, union
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository, search, search_backlog
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
from app.search_cursor import decode_cursor, encode_cursor
from app.search_snippet import segments

__all__ = ["Filters", "decode_cursor", "encode_cursor", "page", "ranked", "snippets"]

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


STREAM_FIRST = 256  # message hits read in the first chunk; each next chunk is 4 times larger
STREAM_MAX = 4096  # hits in a chunk at most (and ids in one IN list)


async def page(
    session: AsyncSession,
    user: User,
    words: Sequence[str],
    filters: Filters,
    limit: int,
    start: tuple[int, int] | None,
) -> list[Conversation]:
    """One page of matching conversations, one row more than ``limit`` when more follow."""
    return [c for c, _ in await ranked(session, user, words, filters, limit, start)]


async def ranked(
    session: AsyncSession,
    user: User,
    words: Sequence[str],
    filters: Filters,
    limit: int,
    start: tuple[int, int] | None,
) -> list[tuple[Conversation, int]]:
    """One page of matching conversations with their sort keys, newest matching first: one row
    more than ``limit`` when more follow, after ``start`` (a key and a conversation id).

    A conversation's key is the id of its newest matching message or note — message ids grow
    as messages are stored, so it is the newest match by arrival (an import of old messages
    ranks by when it was stored) — or, when its subject or its visitor (any contact of the
    visitor's profile) matches, the id of its newest message: its latest activity.

    Message hits are read newest first from the index in growing chunks and stop as soon as the
    page is full, so a common word costs a page, not its every hit; subject and visitor hits
    are few and read whole. The messages stored a moment ago are indexed first
    (:func:`app.search_backlog.before_search`; on SQLite it commits the session's
    transaction)."""
    await search_backlog.before_search(session)
    bind = await session.connection()
    index = search.backend(bind.dialect.name)
    zone = ZoneInfo(await _timezone(session, user.destination_id))
    conditions = _conditions(user, zone, filters)
    # The newest subject and visitor matches after the cursor: a page's worth is enough, the
    # others rank below it whatever the message hits add.
    found = await _meta_keys(session, index, words, conditions, limit + 1, start)
    top_key = start[0] if start is not None else None
    from_stream = 0
    seen: set[int] = set()
    before = None if top_key is None else top_key * 8
    chunk = STREAM_FIRST
    while from_stream <= limit:
        hits = (await bind.execute(index.newest(words, before, chunk))).all()
        fresh: dict[int, int] = {}
        for doc, ref in hits:
            if int(ref) not in seen:
                seen.add(int(ref))
                fresh[int(ref)] = int(doc) // 8
        if fresh:
            kept = await _kept(session, index, words, conditions, fresh, start)
            found.update((c, max(k, found.get(c, 0))) for c, k in fresh.items() if c in kept)
            from_stream += len(kept)
        if len(hits) < chunk:
            break
        before = int(hits[-1][0])
        chunk = min(chunk * 4, STREAM_MAX)
    order = sorted(found.items(), key=lambda item: (item[1], item[0]), reverse=True)[: limit + 1]
    rows = {
        c.id: c
        for c in (
            await session.exec(
                select(Conversation).where(col(Conversation.id).in_([c for c, _ in order]))
            )
        ).all()
    }
    return [(rows[c], k) for c, k in order if c in rows]


async def _meta_keys(
    session: AsyncSession,
    index: search.Backend,
    words: Sequence[str],
    conditions: Sequence[ColumnElement[bool]],
    limit: int | None = None,
    start: tuple[int, int] | None = None,
) -> dict[int, int]:
    """The conversations the user may see whose subject or visitor matches — a contact's hit
    stands for every contact of its profile — each with its newest message id (0: none): the
    first ``limit`` after ``start`` in the search's order, or all of them."""
    hits = index.meta_hits(words).subquery()
    contacts = sa_select(hits.c.ref).where(hits.c.doc % 8 >= Kind.NAME)
    roots = sa_select(func.coalesce(col(Contact.merged_into_id), col(Contact.id))).where(
        col(Contact.id).in_(contacts)
    )
    profile = sa_select(col(Contact.id)).where(
        or_(col(Contact.id).in_(roots), col(Contact.merged_into_id).in_(roots))
    )
    ids = union(
        sa_select(hits.c.ref).where(hits.c.doc % 8 == Kind.SUBJECT),
        sa_select(col(Conversation.id)).where(col(Conversation.contact_id).in_(profile)),
    )
    newest = (
        sa_select(func.max(col(Message.id)))
        .where(col(Message.conversation_id) == col(Conversation.id))
        .scalar_subquery()
    )
    key = func.coalesce(newest, 0)
    query = sa_select(col(Conversation.id), key).where(col(Conversation.id).in_(ids), *conditions)
    if start is not None:
        query = query.where(
            or_(key < start[0], and_(key == start[0], col(Conversation.id) < start[1]))
        )
    if limit is not None:
        query = query.order_by(key.desc(), col(Conversation.id).desc()).limit(limit)
    return {int(c): int(k) for c, k in (await session.exec(query)).all()}  # type: ignore[call-overload]


async def _kept(
    session: AsyncSession,
    index: search.Backend,
    words: Sequence[str],
    conditions: Sequence[ColumnElement[bool]],
    fresh: dict[int, int],
    start: tuple[int, int] | None,
) -> set[int]:
    """Which of the conversations first met in a chunk of message hits belong to the page: the
    user may see them, they pass the filters, and (past the first page) neither a newer message
    nor their subject or visitor matches before the cursor — they were on an earlier page."""
    query = sa_select(col(Conversation.id)).where(
        col(Conversation.id).in_(list(fresh)), *conditions
    )
    kept = {int(c) for (c,) in (await session.exec(query)).all()}  # type: ignore[call-overload]
    if start is None or not kept:
        return kept
    top_key = start[0]
    later = await _meta_keys(session, index, words, [col(Conversation.id).in_(kept)], None, start)
    shown = await _meta_keys(session, index, words, [col(Conversation.id).in_(kept)])
    kept -= set(shown) - set(later)
    newer = (
        await session.exec(
            sa_select(col(Message.id)).where(  # type: ignore[call-overload]
                col(Message.conversation_id).in_(list(kept)), col(Message.id) >= top_key
            )
        )
    ).all()
    ids = [int(m) * 8 for (m,) in newer]
    for part in range(0, len(ids), STREAM_MAX):
        matching = await session.exec(index.among(words, ids[part : part + STREAM_MAX]))  # type: ignore[call-overload]
        kept -= {int(ref) for _, ref in matching.all()}
    return kept


async def _timezone(session: AsyncSession, destination_id: int) -> str:
    found = await session.get(Destination, destination_id)
    return found.timezone if found else "UTC"


async def _profiles(session: AsyncSession, contact_ids: set[int]) -> dict[int, int]:
    """Every contact of the profiles of ``contact_ids``, each with its profile's root."""
    roots = {
        int(c): int(r)
        for c, r in (
            await session.exec(
                sa_select(  # type: ignore[call-overload]
                    col(Contact.id), func.coalesce(col(Contact.merged_into_id), col(Contact.id))
                ).where(col(Contact.id).in_(contact_ids))
            )
        ).all()
    }
    members = (
        await session.exec(
            sa_select(  # type: ignore[call-overload]
                col(Contact.id), func.coalesce(col(Contact.merged_into_id), col(Contact.id))
            ).where(
                or_(
                    col(Contact.id).in_(set(roots.values())),
                    col(Contact.merged_into_id).in_(set(roots.values())),
                )
            )
        )
    ).all()
    return roots | {int(c): int(r) for c, r in members}


async def snippets(
    session: AsyncSession, words: Sequence[str], rows: Sequence[Conversation]
) -> dict[int, list[dict[str, Any]]]:
    """The matching excerpts of each conversation of a page: its newest matching messages and
    notes, then its subject and its visitor's (or their profile's) name, e-mail address and
    handle. Looks up the page's own documents in the index: never every hit of the words."""
    if not rows:
        return {}
    bind = await session.connection()
    index = search.backend(bind.dialect.name)
    ids = [c.id or 0 for c in rows]
    root_of = await _profiles(session, {c.contact_id for c in rows})
    # The page's messages newest first, by chunks until each conversation has its excerpts,
    # matched on the words the index stores for them (read by id: no search per message).
    docs: list[int] = []
    per: dict[int, int] = {}
    before: int | None = None
    while True:
        query = sa_select(col(Message.id)).where(col(Message.conversation_id).in_(ids))
        if before is not None:
            query = query.where(col(Message.id) < before)
        chunk = [
            int(m)
            for (m,) in (
                await session.exec(query.order_by(col(Message.id).desc()).limit(STREAM_MAX))  # type: ignore[call-overload]
            ).all()
        ]
        stored = (await session.exec(index.bodies([m * 8 for m in chunk]))).all()  # type: ignore[call-overload]
        for doc, ref, body in sorted(stored, key=lambda row: -int(row[0])):
            if per.get(int(ref), 0) < SNIPPETS and _matches(str(body), words):
                docs.append(int(doc))
                per[int(ref)] = per.get(int(ref), 0) + 1
        if len(chunk) < STREAM_MAX or all(per.get(c, 0) >= SNIPPETS for c in ids):
            break
        before = chunk[-1]
    wanted = [c * 8 + Kind.SUBJECT for c in ids] + [
        c * 8 + k for c in root_of for k in (Kind.NAME, Kind.EMAIL, Kind.HANDLE)
    ]
    stored = (await session.exec(index.bodies(wanted, meta=True))).all()  # type: ignore[call-overload]
    docs += [int(d) for d, _, body in stored if _matches(str(body), words)]
    # Messages and notes first, newest first; then the conversation's and visitor's fields.
    docs.sort(key=lambda d: (d % 8 != Kind.MESSAGE, -d))
    hit_ids = [d // 8 for d in docs if d % 8 == Kind.MESSAGE]
    messages = {
        m.id: m
        for m in (await session.exec(select(Message).where(col(Message.id).in_(hit_ids)))).all()
    }
    contacts = {
        c.id: c
        for c in (await session.exec(select(Contact).where(col(Contact.id).in_(root_of)))).all()
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
                if root_of.get(c.contact_id) == root_of.get(ref):
                    _add(out[c.id or 0], kind.name.lower(), text, words)
    return out


def _matches(body: str, words: Sequence[str]) -> bool:
    """Whether a stored document (``search.indexed``) holds every word, the last as a prefix:
    what FTS5 answers for it, its tokenizer cutting those folded words as they were joined."""
    stored = body.split()
    last = words[-1]
    return set(words[:-1]) <= set(stored) and any(w.startswith(last) for w in stored)


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
