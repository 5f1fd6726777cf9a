"""Text folded for matching: what search, keyword rules, the answer picker and unique names
compare, so that "Château", "chateau" and "CHÂTEAU" are one word."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """``text`` case-folded, with its accents and other combining marks removed and its
    compatibility forms (ligatures, full-width letters) spelled out; spacing kept as is."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def key(name: str) -> str:
    """A name as compared for uniqueness: folded, its runs of spaces made one, trimmed."""
    return " ".join(fold(name).split())
