"""Keyset pagination of the conversation lists: newest ``last_message_at`` first, ties by id.

A cursor is opaque to clients: the sort key of the last row of the page, base64url-encoded. It
carries no permission (every page is read through ``visible_filter`` again), so a forged cursor
can only move the start of a list the user may see anyway.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from app.models import Conversation

DEFAULT_LIMIT = 200  # what the list answered before it paged; the inbox asks for 50
MAX_LIMIT = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class BadCursorError(ValueError):
    pass


class BadLimitError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cursor:
    last_message_at: datetime
    id: int


def encode(last_message_at: datetime, conversation_id: int) -> str:
    # Integer microseconds: a float timestamp would lose the last digits and skip rows.
    micros = (last_message_at - EPOCH) // MICROSECOND
    raw = f"{micros}.{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(value: str | None) -> Cursor | None:
    """The cursor a client sent back; BadCursorError for anything this module did not write."""
    if not value:
        return None
    try:
        if len(value) > 64:
            raise ValueError(value)
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        micros_text, _, id_text = raw.partition(".")
        if not micros_text.isdigit() or not id_text.isdigit():
            raise ValueError(raw)
        return Cursor(EPOCH + int(micros_text) * MICROSECOND, int(id_text))
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise BadCursorError(value) from exc


def parse_limit(value: str | None) -> int:
    """``limit`` of a list: 1 to 200, 200 when absent; BadLimitError otherwise."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if (
        not (value.isascii() and value.isdigit())
        or len(value) > 4
        or not 1 <= int(value) <= MAX_LIMIT
    ):
        raise BadLimitError(value)
    return int(value)


def after(cursor: Cursor) -> ColumnElement[bool]:
    """Rows that come after ``cursor`` in the lists' order."""
    at = col(Conversation.last_message_at)
    return or_(
        at < cursor.last_message_at,
        and_(at == cursor.last_message_at, col(Conversation.id) < cursor.id),
    )
