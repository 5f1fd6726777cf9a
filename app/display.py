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
Message bodies are not touched: they are shown in their own isolated blocks.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = (
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
)
_CONTROLS = re.compile(f"[{BIDI_CONTROLS}]")


def plain_text(value: str) -> str:
    """``value`` without bidirectional controls (the same string when it had none)."""
    return _CONTROLS.sub("", value) if _CONTROLS.search(value) else value
