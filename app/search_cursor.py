"""A search's cursor: the sort key of the last conversation of a page (its newest matching
message id, see ``app.search_results.ranked``) and its id, opaque to clients, base64url. Like the
lists' cursors it carries no permission: every page is read through the visibility rule again."""

from __future__ import annotations

import base64
import binascii

from app import pagination


def encode_cursor(key: int, conversation_id: int) -> str:
    """The next page starts after the conversation ``conversation_id`` whose sort key (its
    newest matching message id, see :func:`ranked`) is ``key``."""
    raw = f"s{key}.{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[int, int] | None:
    """A cursor :func:`encode_cursor` wrote; ``pagination.BadCursorError`` for anything else."""
    if not value:
        return None
    try:
        if len(value) > 64:
            raise ValueError(value)
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        key, dot, conversation = raw.removeprefix("s").partition(".")
        if not raw.startswith("s") or not dot or not key.isdigit() or not conversation.isdigit():
            raise ValueError(raw)
        if len(key) > 19 or len(conversation) > 19:
            raise ValueError(raw)
        return int(key), int(conversation)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise pagination.BadCursorError(value) from exc
