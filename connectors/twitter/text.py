"""Tweet length as X counts it, and splitting a long answer into a numbered thread.

X weighs characters (twitter-text v3): most Latin, Greek, Cyrillic, Hebrew, Arabic… weigh 1;
CJK, emoji and most other characters weigh 2; every URL weighs 23; an emoji sequence joined by
ZWJ counts once. The limit is 280.
"""

from __future__ import annotations

import re
import unicodedata

LIMIT = 280
URL_WEIGHT = 23
_URL = re.compile(
    r"https?://[^\s]+|(?<![@\w])(?:[a-z0-9-]+\.)+(?:com|org|net|fr|eu|de|es|nl|uk|io|co)(?:/[^\s]*)?",
    re.I,
)
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_ZWJ = "\u200d"


def _weight(char: str) -> int:
    code = ord(char)
    if (
        unicodedata.category(char) in ("Mn", "Me")
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
    ):
        return 0  # combining marks, variation selectors and skin tones ride on the previous one
    return 1 if any(low <= code <= high for low, high in _LIGHT) else 2


def weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in _URL.finditer(text):
        total += _plain(text[position : match.start()]) + URL_WEIGHT
        position = match.end()
    return total + _plain(text[position:])


def _plain(text: str) -> int:
    total = 0
    previous_zwj = False
    for char in text:
        if char == _ZWJ:
            previous_zwj = True
            continue
        weight = _weight(char)
        total += 0 if previous_zwj and weight == 2 else weight
        previous_zwj = False
    return total


def split_thread(text: str, limit: int = LIMIT) -> list[str]:
    """Numbered parts ("1/3 …") of at most ``limit`` each, cut between words."""
    if weighted_length(text) <= limit:
        return [text]
    words = text.split()
    for total in range(2, 100):
        parts = _pack(words, limit - len(f"{total}/{total} "))
        if parts is not None and len(parts) <= total:
            count = len(parts)
            return [f"{i}/{count} {part}" for i, part in enumerate(parts, 1)]
    raise ValueError("too long to post even as a thread")


def _pack(words: list[str], room: int) -> list[str] | None:
    parts: list[str] = []
    current = ""
    for word in words:
        if weighted_length(word) > room:
            return None  # a single word longer than a tweet cannot be cut sensibly
        candidate = f"{current} {word}" if current else word
        if weighted_length(candidate) <= room:
            current = candidate
        else:
            parts.append(current)
            current = word
    if current:
        parts.append(current)
    return parts
