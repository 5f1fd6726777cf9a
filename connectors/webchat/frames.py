"""The visitor widget's websocket frames: parsing and validation of what a browser sends."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

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
    page: str = ""  # the page the widget is on: origin + path only ("" when not given)
    name: str = ""  # the name the visitor gave before their first message ("" none)


@dataclass(frozen=True, slots=True)
class PingFrame:
    pass


@dataclass(frozen=True, slots=True)
class TypingFrame:
    """The visitor is typing (``active`` False: stopped); shown live, never stored."""

    active: bool = True


Frame = VisitorMessageFrame | PingFrame | TypingFrame


def parse_frame(raw: str | bytes, max_chars: int) -> Frame:
    """``{"type": "message", "client_id": "...", "text": "...", "name": "..."}`` (``name``
    optional), ``{"type": "ping"}`` or ``{"type": "typing", "active": true|false}``
    (``active`` defaults to true)."""
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
    page = data.get("page", "")
    if not isinstance(page, str):
        raise FrameError("malformed", "page must be a string")
    return VisitorMessageFrame(
        client_id=client_id,
        text=text.strip("\r\n"),
        page=page_address(page),
        name=visitor_name(data.get("name", "")),
    )


MAX_NAME_CHARS = 100
# Direction overrides and isolates: a name holding them could reverse what the adviser reads.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visitor_name(value: object) -> str:
    """The optional ``name`` of a message frame (asked by the widget before the first
    message): a line of text of ``MAX_NAME_CHARS`` at most, spaces folded; anything else is
    refused rather than cut or cleaned, so what the adviser sees is what the visitor typed."""
    if not isinstance(value, str):
        raise FrameError("malformed", "name must be a string")
    name = " ".join(value.split())
    if len(name) > MAX_NAME_CHARS:
        raise FrameError("malformed", f"name must be {MAX_NAME_CHARS} characters at most")
    if not storable(name) or any(unicodedata.category(ch) == "Cc" or ch in _BIDI for ch in name):
        raise FrameError("invalid_text", "name holds control or invisible characters")
    return name


MAX_PAGE_CHARS = 300


def page_address(value: str, origin_only: bool = False) -> str:
    """An http(s) address cut to its origin and path — never its query string or fragment,
    which may carry a booking reference or a session — and to ``MAX_PAGE_CHARS``; "" for
    anything else (another scheme, no host, not storable)."""
    if not value or len(value) > 8 * MAX_PAGE_CHARS or not storable(value):
        return ""
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # refuses a port that is no number
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if any(ch.isspace() or ch in '<>"' for ch in parts.netloc + parts.path):
        return ""
    host = parts.hostname.lower() + (f":{port}" if port is not None else "")
    origin = f"{parts.scheme.lower()}://{host}"
    return origin if origin_only else (origin + parts.path)[:MAX_PAGE_CHARS]


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
    site: str = "",
) -> InboundMessage:
    """A chat message as every channel's message; one visitor is one thread. ``site``: the
    origin the widget's socket came from (its ``Origin`` header)."""
    return InboundMessage(
        channel=Channel.WEBCHAT,
        account=account,
        external_id=f"{visitor_id}:{frame.client_id}",
        thread_key=visitor_id,
        author=Author(
            external_id=visitor_id,
            name=name or frame.name,
            language=language,
            profile=_origin_profile(frame.page, site),
        ),
        text=frame.text,
        received_at=received_at,
        metadata={"client_id": frame.client_id},
    )


def _origin_profile(page: str, site: str) -> dict[str, str]:
    """Where the visitor wrote from, kept on their contact: the site (the socket's origin) and
    the page, only when the page is on that site (a page claiming another site is left out)."""
    site = page_address(site, origin_only=True)
    if not site:
        return {}
    shown = {"site": site}
    if page and page_address(page, origin_only=True) == site:
        shown["page"] = page
    return shown
