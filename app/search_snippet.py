"""Where a search's words are in a stored text: an excerpt cut as segments, the matches marked.

The server sends text only — segments the browser inserts with ``textContent``, a ``<mark>``
element around the matching ones — so no visitor text is ever parsed as HTML. Offsets would
differ between Python (code points) and JavaScript (UTF-16 units); segments do not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.textnorm import fold

BEFORE = 40  # characters of context shown before the first match
LENGTH = 160  # characters of an excerpt at most


def _folded_with_origin(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, with the index in ``text`` each folded
    character came from (folding may add characters, "ß" → "ss", or drop them, accents)."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        f = fold(ch) if not ch.isascii() else ch.lower()
        out.append(f)
        origin.extend([i] * len(f))
    return "".join(out), origin


def spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """``[start, end)`` spans of ``text`` where a word of the query begins a word of the text
    (each as a prefix: the index matched the last one as typed, the others in full)."""
    if not words or not text:
        return []
    folded, origin = _folded_with_origin(text)
    pattern = re.compile(
        r"(?<![^\W_])(?:"
        + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        + ")"
    )
    found: list[tuple[int, int]] = []
    for m in pattern.finditer(folded):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        if found and start <= found[-1][1]:
            found[-1] = (found[-1][0], max(end, found[-1][1]))
        else:
            found.append((start, end))
    return found


def segments(text: str, words: Sequence[str]) -> list[dict[str, object]]:
    """An excerpt of ``text`` around its first match, as ``[{"text", "mark"}]``; "…" where it
    was cut. The start of the text when no word is found (a match in quoted history cut away)."""
    text = " ".join(text.split())  # line breaks and runs of spaces: one line of results
    marks = spans(text, words)
    start = max(0, marks[0][0] - BEFORE) if marks else 0
    if start:
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if space >= start - 15 else start  # begin on a word when it is near
    end = min(len(text), start + LENGTH)
    out: list[dict[str, object]] = []
    position = start
    for s, e in marks:
        if s >= end:
            break
        s, e = max(s, start), min(e, end)
        if s > position:
            out.append({"text": text[position:s], "mark": False})
        out.append({"text": text[s:e], "mark": True})
        position = e
    if position < end:
        out.append({"text": text[position:end], "mark": False})
    if start and out:
        out[0]["text"] = "…" + str(out[0]["text"])
    if end < len(text) and out:
        out[-1]["text"] = str(out[-1]["text"]) + "…"
    return out
