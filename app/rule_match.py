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
from bisect import bisect_right
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


@lru_cache(maxsize=1024)
def compile_words(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for all of a rule's words (None when none is usable); cached, so a rule is
    compiled once per worker for as long as its words stay the same."""
    parsed = [parse(w) for w in words]
    pieces = sorted({_piece(w) for w in parsed if w.text}, key=len, reverse=True)
    if not pieces:
        return None
    return re.compile("|".join(pieces))


def matches(pattern: re.Pattern[str] | None, folded_text: str) -> bool:
    """Whether the words are in a text already folded."""
    return pattern is not None and pattern.search(folded_text) is not None


def snippet(pattern: re.Pattern[str], text: str, width: int = 120) -> str | None:
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
    found = pattern.search("".join(pieces))
    if found is None:
        return None
    begin = max(0, bisect_right(starts, found.start()) - 1)
    end = max(begin + 1, bisect_right(starts, max(found.end() - 1, found.start())))
    room = max(0, width - (end - begin)) // 2
    left, right = max(0, begin - room), min(len(text), end + room)
    flat = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + flat + ("…" if right < len(text) else "")
