"""The answer picker's search: the destination's answers held folded in memory, ranked per
keystroke.

Folding 12,000 texts (2,000 answers in 6 languages) takes longer than a keystroke may, so each
worker keeps them folded once, per database and destination, and checks with one cheap SQL
aggregate (count and latest edit) that nothing changed before each search; any write bumps an
answer's ``updated_at`` or the count, and the next search reloads. Use counts do not bump it:
the ranking may use counts a few uses old, and the API reads the fresh ones of the page it
returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.answer_fill import choose_language
from app.models import Answer, AnswerStatus, AnswerText
from app.textnorm import fold


@dataclass(slots=True)
class Entry:
    """One answer as the picker searches it: its fields, and the same folded."""

    id: int
    office_id: int | None
    status: AnswerStatus
    created_by: int | None
    title: str
    shortcut: str
    tags: list[str]
    uses: int
    texts: dict[str, str] = field(default_factory=dict)
    folded_title: str = ""
    folded_tags: str = ""
    folded_all: str = ""  # shortcut, title, tags and every text: where any word may match


@dataclass(slots=True)
class _Held:
    version: tuple[int, int, datetime | None]
    entries: list[Entry]


# (database URL, destination id) → what this worker holds.
_held: dict[tuple[str, int], _Held] = {}


def _words(query: str) -> list[str]:
    return fold(query).lstrip("/").split()


async def _version(session: AsyncSession, destination_id: int) -> tuple[int, int, datetime | None]:
    row = (
        await session.exec(
            select(
                func.count(col(Answer.id)), func.sum(col(Answer.id)), func.max(Answer.updated_at)
            ).where(Answer.destination_id == destination_id)
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0), row[2]


async def _load(session: AsyncSession, destination_id: int) -> list[Entry]:
    answers = (
        await session.exec(select(Answer).where(Answer.destination_id == destination_id))
    ).all()
    by_id: dict[int, Entry] = {}
    for a in answers:
        assert a.id is not None
        by_id[a.id] = Entry(
            a.id, a.office_id, a.status, a.created_by, a.title, a.shortcut, a.tags.split(), a.uses
        )
    texts = (
        await session.exec(
            select(AnswerText.answer_id, AnswerText.language, AnswerText.text)
            .join(Answer, col(Answer.id) == col(AnswerText.answer_id))
            .where(Answer.destination_id == destination_id)
        )
    ).all()
    for answer_id, language, text in texts:
        if answer_id in by_id:
            by_id[answer_id].texts[language] = text
    for e in by_id.values():
        e.folded_title = fold(e.title)
        e.folded_tags = " ".join(e.tags)
        e.folded_all = "\n".join(
            [e.shortcut, e.folded_title, e.folded_tags, *(fold(t) for t in e.texts.values())]
        )
    return list(by_id.values())


async def entries(session: AsyncSession, database: str, destination_id: int) -> list[Entry]:
    """The destination's answers, folded; reloaded only when one changed."""
    version = await _version(session, destination_id)
    held = _held.get((database, destination_id))
    if held is None or held.version != version:
        held = _Held(version, await _load(session, destination_id))
        _held[(database, destination_id)] = held
    return held.entries


def tier(entry: Entry, words: list[str]) -> int | None:
    """How well ``entry`` matches: 0 its shortcut (or no query), 1 its title, 2 its tags,
    3 anywhere (texts included); None when some word is nowhere."""
    if not words:
        return 0
    if entry.shortcut.startswith("-".join(words)) or entry.shortcut.startswith("".join(words)):
        return 0
    if all(w in entry.folded_title for w in words):
        return 1
    if all(w in entry.folded_tags for w in words):
        return 2
    if all(w in entry.folded_all for w in words):
        return 3
    return None


@dataclass(frozen=True, slots=True)
class Found:
    entry: Entry
    language: str  # the language its text would be inserted in
    fallback: bool  # not the requested language


def search(
    rows: list[Entry],
    query: str,
    language: str,
    default_language: str,
    office_id: int | None,
) -> list[Found]:
    """The matching answers, best first: ``office_id``'s own, then destination-wide ones,
    then others; among them those having a text in ``language``; then shortcut, title, tags,
    text matches; then the most used; then by title."""
    words = _words(query)
    ranked: list[tuple[tuple[int, int, int, int, str, int], Found]] = []
    for e in rows:
        level = tier(e, words)
        if level is None:
            continue
        place = 0 if office_id is not None and e.office_id == office_id else 1
        if e.office_id is not None and e.office_id != office_id:
            place = 2
        chosen = choose_language(e.texts, language, default_language)
        lacks = 0 if not language or language in e.texts else 1
        found = Found(e, chosen, bool(language) and chosen != language)
        ranked.append(((place, lacks, level, -e.uses, e.folded_title, e.id), found))
    ranked.sort(key=lambda pair: pair[0])
    return [found for _, found in ranked]
