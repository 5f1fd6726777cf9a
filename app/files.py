"""Files both ways: a visitor's photo or PDF, an adviser's map or timetable, checked from their
bytes, kept with their message, and erased with it (``StoredAttachment``)."""

from __future__ import annotations

from typing import Any

from app.events import MessageOut


def visitor_attachments(message: MessageOut) -> list[dict[str, Any]]:
    """A message's files as its visitor's widget lists them (in the ``message`` frame)."""
    return []
