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

import bisect
import heapq
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
    updated_at: datetime
    texts: dict[str, str] = field(default_factory=dict)
    folded_title: str = ""
    folded_tags: str = ""
    folded_meta: str = ""  # shortcut, title and tags
    folded_texts: str = ""  # every text, folded


@dataclass(slots=True)
class Library:
    """A destination's answers as this worker holds them, with every text folded into one
    string so that a word is looked for in all of them by one scan in C, not 2,000 in Python."""

    version: tuple[int, int, datetime | None]
    entries: dict[int, Entry]
    rows: list[Entry] = field(default_factory=list)
    blob: str = ""
    starts: list[int] = field(default_factory=list)  # where each row's texts begin in ``blob``

    def __post_init__(self) -> None:
        self.rows = list(self.entries.values())
        parts, at = [], 0
        for e in self.rows:
            self.starts.append(at)
            parts.append(e.folded_texts)
            at += len(e.folded_texts) + 1
        self.blob = "\x00".join(parts)

    def in_texts(self, word: str) -> set[int]:
        """The ids of the answers with ``word`` in one of their texts."""
        found: set[int] = set()
        at = self.blob.find(word)
        while at != -1:
            index = bisect.bisect_right(self.starts, at) - 1
            found.add(self.rows[index].id)
            if index + 1 >= len(self.starts):
                break
            at = self.blob.find(word, self.starts[index + 1])  # on to the next answer
        return found


MIN_TEXT_WORD = 3  # shorter words are looked for in shortcuts, titles and tags only

# (database URL, destination id) → what this worker holds.
_held: dict[tuple[str, int], Library] = {}


def _fold(text: str) -> str:
    # ASCII folds to its lower case (nothing to decompose): most texts of most languages
    # skip the per-character pass of app.textnorm.fold.
    return text.lower() if text.isascii() else fold(text)


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


async def _load(session: AsyncSession, ids: list[int]) -> dict[int, Entry]:
    """The answers ``ids``, folded."""
    by_id: dict[int, Entry] = {}
    for chunk in range(0, len(ids), 500):  # SQLite's bound parameters are limited
        part = ids[chunk : chunk + 500]
        for a in (await session.exec(select(Answer).where(col(Answer.id).in_(part)))).all():
            assert a.id is not None
            by_id[a.id] = Entry(
                a.id, a.office_id, a.status, a.created_by, a.title, a.shortcut, a.tags.split(),
                a.uses, a.updated_at,
            )  # fmt: skip
        texts = await session.exec(
            select(AnswerText.answer_id, AnswerText.language, AnswerText.text).where(
                col(AnswerText.answer_id).in_(part)
            )
        )
        for answer_id, language, text in texts.all():
            if answer_id in by_id:
                by_id[answer_id].texts[language] = text
    for e in by_id.values():
        e.folded_title = _fold(e.title)
        e.folded_tags = " ".join(e.tags)
        e.folded_meta = "\n".join([e.shortcut, e.folded_title, e.folded_tags])
        e.folded_texts = "\n".join(_fold(t).replace("\x00", " ") for t in e.texts.values())
    return by_id


async def library(session: AsyncSession, database: str, destination_id: int) -> Library:
    """The destination's answers, folded; those changed since the last call folded again."""
    version = await _version(session, destination_id)
    held = _held.get((database, destination_id))
    if held is None or held.version != version:
        stamps = {
            answer_id: at
            for answer_id, at in (
                await session.exec(
                    select(Answer.id, Answer.updated_at).where(
                        Answer.destination_id == destination_id
                    )
                )
            ).all()
            if answer_id is not None
        }
        kept = {} if held is None else held.entries
        kept = {i: e for i, e in kept.items() if stamps.get(i) == e.updated_at}
        kept.update(await _load(session, [i for i in stamps if i not in kept]))
        held = Library(version, kept)
        _held[(database, destination_id)] = held
    return held


def tier(
    entry: Entry, words: list[str], prefixes: tuple[str, ...], in_texts: list[set[int]]
) -> int | None:
    """How well ``entry`` matches: 0 its shortcut (or no query), 1 its title, 2 its tags,
    3 anywhere (texts included); None when some word is nowhere. ``prefixes``: the words
    joined as a shortcut would be ("bus-12", "bus12"); ``in_texts``: per word, the answers
    having it in a text."""
    if not words:
        return 0
    meta = entry.folded_meta
    for word, having in zip(words, in_texts, strict=True):
        if word not in meta and entry.id not in having:
            return None
    if entry.shortcut.startswith(prefixes):
        return 0
    if all(w in entry.folded_title for w in words):
        return 1
    if all(w in entry.folded_tags for w in words):
        return 2
    return 3


@dataclass(frozen=True, slots=True)
class Found:
    entry: Entry
    language: str  # the language its text would be inserted in
    fallback: bool  # not the requested language


def search(
    held: Library,
    rows: list[Entry],
    query: str,
    language: str,
    default_language: str,
    office_id: int | None,
    limit: int,
) -> list[Found]:
    """The ``limit`` best of ``rows`` (answers of ``held``) matching ``query``:
    ``office_id``'s own, then destination-wide ones, then others; among them those having a
    text in ``language``; then shortcut, title, tags, text matches; then the most used; then by
    title. A word of one or two letters is looked for in shortcuts, titles and tags only (in
    the texts it would match nearly everything)."""
    words = _words(query)
    prefixes = ("-".join(words), "".join(words))
    in_texts = [held.in_texts(w) if len(w) >= MIN_TEXT_WORD else set() for w in words]
    ranked: list[tuple[tuple[int, int, int, int, str, int], Entry]] = []
    for e in rows:
        level = tier(e, words, prefixes, in_texts)
        if level is None:
            continue
        # The conversation's office's own first (0), destination-wide next (1), others last.
        place = 1 if e.office_id is None else 0 if e.office_id == office_id else 2
        lacks = 0 if not language or language in e.texts else 1
        ranked.append(((place, lacks, level, -e.uses, e.folded_title, e.id), e))
    best = heapq.nsmallest(limit, ranked, key=lambda pair: pair[0])
    found = []
    for _, e in best:
        chosen = choose_language(e.texts, language, default_language)
        found.append(Found(e, chosen, bool(language) and chosen != language))
    return found
