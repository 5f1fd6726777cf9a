"""How a keyword rule's words match a visitor's text (app.rules).

Both sides are compared folded (``app.textnorm.fold``: any case, any accents). A word matches
whole words only: "velo" finds "Vélo !" but not "vélos" nor "velociraptor"; a trailing ``*``
makes it a prefix ("velo*" finds all three). A phrase matches its words in order, with any
spaces or hyphens between them ("saint clair" finds "Saint-Clair"); apostrophes of every kind
are one. Everything else is literal: ``.*(`` is three characters, never a pattern. In scripts
written without spaces (Chinese, Japanese, Thai) a word matches anywhere in the text.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

from app.textnorm import fold

_SEPARATORS = "\\s\\-\u2010\u2011\u2012\u2013\u2014"
_SEPARATORS_PLAIN = " \t\n\r\f\v-\u2010\u2011\u2012\u2013\u2014"
_APOSTROPHES = "'\u2019\u02bc\u2018`\u00b4"
# Scripts written without spaces between words: word boundaries mean nothing there.
_UNSPACED = re.compile(
    r"[\u0e00-\u0e7f\u0e80-\u0eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Word:
    """One of a rule's words as matched: its folded text, and whether it is a prefix."""

    text: str
    prefix: bool


def stored_words(stored: str) -> list[str]:
    """A rule's words from their stored JSON list (nothing when unreadable)."""
    try:
        words = json.loads(stored or "[]")
    except ValueError:
        return []
    return [w for w in words if isinstance(w, str)] if isinstance(words, list) else []


def parse(word: str) -> Word:
    """A word as the manager wrote it → what is matched ("" when nothing is left)."""
    written = word.strip()
    prefix = written.endswith("*")
    if prefix:
        written = written[:-1]
    # Runs of spaces and hyphens are one separator, matched by any such run in the text.
    folded = " ".join(re.split(f"[{_SEPARATORS}]+", fold(written).strip(_SEPARATORS_PLAIN)))
    return Word(folded.strip(), prefix)


def _piece(word: Word) -> str:
    parts: list[str] = []
    for chunk in word.text.split(" "):
        parts.append(
            "".join(f"[{_APOSTROPHES}]" if ch in _APOSTROPHES else re.escape(ch) for ch in chunk)
        )
    body = f"[{_SEPARATORS}]+".join(parts)
    first, last = word.text[0], word.text[-1]
    # A boundary is checked only next to a word character of a spaced script: "c++" or
    # "#tide" still match where they stand, and "東京" inside a sentence.
    before = "(?<!\\w)" if _WORD_CHAR.match(first) and not _UNSPACED.match(first) else ""
    after = ""
    if not word.prefix and _WORD_CHAR.match(last) and not _UNSPACED.match(last):
        after = "(?!\\w)"
    return f"{before}{body}{after}"


_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Matcher:
    """A rule's words ready to match. Plain words are looked up among the text's words (a set,
    and a sorted list for prefixes): a long alternation of lookaround patterns costs about a
    millisecond per rule and message, the lookups microseconds. Phrases, words with other
    characters and unspaced scripts go through a pattern each, tried only when the text holds
    every whole word the pattern needs."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    rest: tuple[tuple[frozenset[str], re.Pattern[str]], ...]
    full: re.Pattern[str]  # every word: where the match stands, for snippets


class Prepared:
    """A folded text prepared once for every rule: its words, as a set (and sorted, the first
    time a prefix is looked up)."""

    __slots__ = ("_sorted", "folded", "words")

    def __init__(self, folded: str) -> None:
        self.folded = folded
        self.words = frozenset(_TOKEN.findall(folded))
        self._sorted: list[str] | None = None

    def has_prefix(self, prefix: str) -> bool:
        if self._sorted is None:
            self._sorted = sorted(self.words)
        at = bisect_left(self._sorted, prefix)
        return at < len(self._sorted) and self._sorted[at].startswith(prefix)


def _needed(word: Word) -> frozenset[str]:
    """The whole words a text must hold for ``word`` to be in it: each run of word characters
    stands between boundaries in the pattern, but for a prefix's last one and unspaced scripts."""
    runs = _TOKEN.findall(word.text)
    if word.prefix and runs and word.text.endswith(runs[-1]):
        runs = runs[:-1]
    return frozenset(r for r in runs if _UNSPACED.search(r) is None)


def _plain(word: Word) -> bool:
    return _TOKEN.fullmatch(word.text) is not None and _UNSPACED.search(word.text) is None


@lru_cache(maxsize=1024)
def compile_words(words: tuple[str, ...]) -> Matcher | None:
    """A rule's words ready to match (None when none is usable); cached, so a rule is compiled
    once per worker for as long as its words stay the same."""
    parsed = [w for w in (parse(x) for x in words) if w.text]
    if not parsed:
        return None
    return Matcher(
        exact=frozenset(w.text for w in parsed if _plain(w) and not w.prefix),
        prefixes=tuple(sorted({w.text for w in parsed if _plain(w) and w.prefix})),
        rest=tuple((_needed(w), re.compile(_piece(w))) for w in parsed if not _plain(w)),
        full=re.compile("|".join(sorted({_piece(w) for w in parsed}, key=len, reverse=True))),
    )


@lru_cache(maxsize=1024)
def compile_stored(stored: str) -> Matcher | None:
    """:func:`compile_words` of a rule's stored JSON list, cached by that text (no parsing of
    every rule's JSON on every message)."""
    return compile_words(tuple(stored_words(stored)))


def matches(matcher: Matcher | None, text: Prepared | str) -> bool:
    """Whether the words are in a text already folded (prepare it once for many rules)."""
    if matcher is None:
        return False
    prepared = text if isinstance(text, Prepared) else Prepared(text)
    if not matcher.exact.isdisjoint(prepared.words):
        return True
    if any(prepared.has_prefix(p) for p in matcher.prefixes):
        return True
    return any(
        needed <= prepared.words and pattern.search(prepared.folded) is not None
        for needed, pattern in matcher.rest
    )


def snippet(matcher: Matcher, text: str, width: int = 120) -> str | None:
    """About ``width`` characters of the original ``text`` around the first match, or None.

    The text is folded character by character to know where the match stands in the original
    (folding can change lengths: "ß" is "ss")."""
    starts: list[int] = []
    pieces: list[str] = []
    position = 0
    for ch in text:
        starts.append(position)
        folded = fold(ch)
        pieces.append(folded)
        position += len(folded)
    found = matcher.full.search("".join(pieces))
    if found is None:
        return None
    begin = max(0, bisect_right(starts, found.start()) - 1)
    end = max(begin + 1, bisect_right(starts, max(found.end() - 1, found.start())))
    room = max(0, width - (end - begin)) // 2
    left, right = max(0, begin - room), min(len(text), end + room)
    flat = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + flat + ("…" if right < len(text) else "")
