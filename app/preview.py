"""The one-line preview of a message that conversation lists show."""

from __future__ import annotations

PREVIEW_CHARS = 140


def preview(text: str) -> str:
    """The text on one line, cut to ``PREVIEW_CHARS`` with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
