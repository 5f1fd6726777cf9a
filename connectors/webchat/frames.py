"""The visitor widget's websocket frames: parsing and validation of what a browser sends."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from connectors.base import Author, Channel, InboundMessage

MAX_FRAME_BYTES = 64 * 1024
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class FrameError(ValueError):
    """A frame refused; ``code`` names the reason (the widget translates it)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


@dataclass(frozen=True, slots=True)
class VisitorMessageFrame:
    client_id: str
    text: str


@dataclass(frozen=True, slots=True)
class PingFrame:
    pass


@dataclass(frozen=True, slots=True)
class TypingFrame:
    """The visitor is typing (``active`` False: stopped); shown live, never stored."""

    active: bool = True


Frame = VisitorMessageFrame | PingFrame | TypingFrame


def parse_frame(raw: str | bytes, max_chars: int) -> Frame:
    """``{"type": "message", "client_id": "...", "text": "..."}``, ``{"type": "ping"}`` or
    ``{"type": "typing", "active": true|false}`` (``active`` defaults to true)."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_long")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError("malformed", "frame is not valid JSON") from exc
    if not isinstance(data, dict):
        raise FrameError("malformed", "frame must be a JSON object")
    kind = data.get("type")
    if kind == "ping":
        return PingFrame()
    if kind == "typing":
        active = data.get("active", True)
        if not isinstance(active, bool):
            raise FrameError("malformed", "active must be true or false")
        return TypingFrame(active=active)
    if kind != "message":
        raise FrameError("unknown_type", f"unknown frame type {str(kind)[:40]!r}")
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise FrameError("malformed", "client_id must be 8-64 letters, digits, - or _")
    text = data.get("text")
    if not isinstance(text, str):
        raise FrameError("malformed", "text must be a string")
    if not text.strip():
        raise FrameError("empty")
    if len(text) > max_chars:
        raise FrameError("too_long")
    if not storable(text):
        raise FrameError("invalid_text", "text holds a lone surrogate or a NUL character")
    return VisitorMessageFrame(client_id=client_id, text=text.strip("\r\n"))


def storable(text: str) -> bool:
    """Whether ``text`` can be stored and sent on as it is: valid Unicode (JSON's ``\\ud800``
    escape yields a lone surrogate, which no UTF-8 encoder accepts) and no NUL (which
    PostgreSQL refuses in text)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_inbound(
    frame: VisitorMessageFrame,
    *,
    account: str,
    visitor_id: str,
    received_at: datetime,
    name: str = "",
    language: str = "",
) -> InboundMessage:
    """A chat message as every channel's message; one visitor is one thread."""
    return InboundMessage(
        channel=Channel.WEBCHAT,
        account=account,
        external_id=f"{visitor_id}:{frame.client_id}",
        thread_key=visitor_id,
        author=Author(external_id=visitor_id, name=name, language=language),
        text=frame.text,
        received_at=received_at,
        metadata={"client_id": frame.client_id},
    )
