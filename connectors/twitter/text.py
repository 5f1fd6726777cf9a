"""Post length as X counts it, and cutting a long answer into a numbered thread. Pure.

X weighs characters (twitter-text v3 configuration): code points in U+0000–U+10FF (Latin,
Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai…), U+2000–U+200D, U+2010–U+201F and
U+2032–U+2037 weigh 1; everything else (CJK, kana, hangul, emoji…) weighs 2; a URL weighs 23
whatever its length; one emoji weighs 2 even when it is a sequence of code points (skin tone,
ZWJ family, flag, keycap). Text is NFC-normalised first. The limit is 280.

Where twitter-text's rules are subtler than these (its full TLD list, balanced parentheses in
URLs), we err towards counting more, never less: a post we call 280 must not be 281 to X.
"""

from __future__ import annotations

import re
import unicodedata

LIMIT = 280
URL_WEIGHT = 23
EMOJI_WEIGHT = 2

_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))

_TLDS = (
    "com|org|net|edu|gov|info|biz|io|co|me|app|dev|ai|tv|ly|xyz|online|site|shop|travel|"
    "fr|eu|de|es|it|nl|be|ch|uk|pt|ie|at|lu|dk|se|no|fi|pl|cz|gr|us|ca|au|nz|jp|cn|kr|br|ma|tn"
)
_TRAILING = ".,:;!?'\"»…"
_URL = re.compile(
    r"(?:https?://\S+)"
    r"|(?<![@\w.\-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:" + _TLDS + r")(?![\w-])(?:/\S*)?",
    re.IGNORECASE,
)
# One emoji, however many code points: a flag, a tag-sequence flag, a keycap, or pictographs
# (with variation selectors and skin tones) joined by ZWJ.
_PICTO = (
    "[\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f"
    "\u2b00-\u2bff\u3030\u303d\u3297\u3299]"
    "(?:\ufe0f|\ufe0e|[\U0001f3fb-\U0001f3ff])*"
)
_EMOJI = re.compile(
    "[\U0001f1e6-\U0001f1ff]{2}"
    "|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    "|[0-9#*]\ufe0f?\u20e3"
    "|[\u00a9\u00ae]\ufe0f"
    f"|{_PICTO}(?:\u200d{_PICTO})*"
)
_SPACE = re.compile(r"(\s+)")


def _char_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT) else 2


def _urls(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        url = match.group()
        end = match.end() - (len(url) - len(url.rstrip(_TRAILING)))
        if url.endswith(")") and "(" not in url:
            end -= 1
        spans.append((match.start(), end))
    return spans


def _plain(text: str) -> int:
    total = 0
    position = 0
    for match in _EMOJI.finditer(text):
        total += sum(_char_weight(c) for c in text[position : match.start()]) + EMOJI_WEIGHT
        position = match.end()
    return total + sum(_char_weight(c) for c in text[position:])


def weighted_length(text: str) -> int:
    """The length X counts against the 280 limit."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end in _urls(text):
        total += _plain(text[position:start]) + URL_WEIGHT
        position = end
    return total + _plain(text[position:])


def split_thread(text: str, limit: int = LIMIT) -> list[str]:
    """The text as it is when it fits, else numbered parts ("1/3 …", "2/3 …") of at most
    ``limit`` each, cut between words (inside the whitespace that separates them). A word
    longer than a whole part (a pasted token, a very long URL path) is cut where it must be.
    """
    if weighted_length(text) <= limit:
        return [text]
    tokens = [t for t in _SPACE.split(text.strip()) if t]
    for total in range(2, 1000):
        room = limit - len(f"{total}/{total} ")
        parts = _pack(tokens, room)
        if len(parts) <= total:
            return [f"{i}/{len(parts)} {part}" for i, part in enumerate(parts, 1)]
    raise ValueError("too long to post even as a thread of 999 parts")


def _pack(tokens: list[str], room: int) -> list[str]:
    parts: list[str] = []
    current = ""
    pending_space = ""
    for token in tokens:
        if token.isspace():
            pending_space = token
            continue
        candidate = f"{current}{pending_space}{token}" if current else token
        pending_space = ""
        if weighted_length(candidate) <= room:
            current = candidate
            continue
        if current:
            parts.append(current)
        pieces = _cut(token, room)
        parts.extend(pieces[:-1])
        current = pieces[-1]
    if current:
        parts.append(current)
    return parts


def _cut(word: str, room: int) -> list[str]:
    """A word in pieces that each fit, cut between characters (never inside an emoji)."""
    if weighted_length(word) <= room:
        return [word]
    units = [m.group() for m in re.finditer(f"{_EMOJI.pattern}|.", word, re.DOTALL)]
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and weighted_length(current + unit) > room:
            pieces.append(current)
            current = ""
        current += unit
    pieces.append(current)
    return pieces
