"""Text that someone outside chose, made safe to show: bidirectional controls neutralised.

A visitor's name, a mail's subject or an attachment's file name may carry Unicode bidi
controls, so that ``"invoice\\u202efdp.exe"`` reads as ``invoiceexe.pdf``. They are neutralised
at display, in one place (the models every page, API answer and live frame is built from:
``app.events``), not at ingest: the stored original stays what was received (the visitor's data
export gives it back as it came, and a future display rule needs no data migration), and no
display path can forget it, since the browser only ever gets these fields through the models.

Neutralising means removing: the explicit embeddings, overrides and isolates (U+202A–U+202E,
U+2066–U+2069) and the invisible direction marks (U+200E, U+200F, U+061C), which in a name
or a file name serve only to reorder what the reader sees. What is left is shown in its
logical order, and the browser's own ``dir="auto"`` still lays out right-to-left scripts.
Message bodies are not touched: they are shown in their own isolated blocks. A message's
``details`` get the same treatment (:func:`plain_details`), but for a quoted tweet's text.
"""

from __future__ import annotations

import re
from typing import Any

BIDI_CONTROLS = (
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
)
_CONTROLS = re.compile(f"[{BIDI_CONTROLS}]")


def plain_text(value: str) -> str:
    """``value`` without bidirectional controls (the same string when it had none)."""
    return _CONTROLS.sub("", value) if _CONTROLS.search(value) else value


# Strings of a message's ``details`` (docs/api.md) that are the sender's own words, shown in an
# isolated block of their own like a message body: they keep their marks. Every other string
# there (a forwarded mail's From and Subject, a quoted tweet's author, an address, a link's
# display text) is a name-like label set beside the interface's own words: neutralised.
_BODY_PATHS = frozenset({("quoted", "text")})


def plain_details(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` with every label-like string neutralised, at any depth (a copy)."""
    return {key: _plain_value(value, (key,)) for key, value in details.items()}


def _plain_value(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return value if path[-2:] in _BODY_PATHS else plain_text(value)
    if isinstance(value, dict):
        return {k: _plain_value(v, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        # A list names its items: forwarded[i].subject is ("forwarded", "subject").
        return [_plain_value(v, path) for v in value]
    return value
