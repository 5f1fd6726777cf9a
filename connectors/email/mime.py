"""Walking a mail's MIME tree (RFC 2045–2049) into text segments, HTML and real attachments.

Every text part is shown, in order: one alternative of a ``multipart/alternative`` (plain,
else HTML rendered to text, else any text), every part of the other multiparts, and the text
of a forwarded ``message/rfc822`` with its own parts walked. Inline images become attachments
and leave ``[image: name]`` where they stood. Containers are never attachments; a multipart
whose boundary never appears falls back to its raw body. Linear in the number of parts.
"""

from __future__ import annotations

import base64
import binascii
import email
import mimetypes
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Any

from connectors.base import Attachment
from connectors.email.htmltext import enriched_to_text, html_to_text
from connectors.email.textcodec import decode_text, decode_words, unflow

MAX_DEPTH = 40  # nesting beyond this is hostile: what is deeper is shown as raw text
# text/* that is a file to open rather than words to read.
_TEXT_FILES = {
    "calendar", "x-vcalendar", "vcard", "x-vcard", "directory", "css", "javascript",
    "xml", "x-python", "x-sh", "x-diff", "x-patch",
}  # fmt: skip
_HTML_BODY = re.compile(
    r"\s*<(?:!doctype\s+html|html|body|div|p|table|span)\b[^>]*>.*</[a-z]+>\s*$", re.I | re.S
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A delimiter line (printable, no space: mailers stray from RFC 2046), then a header line.
_BOUNDARY_LINE = re.compile(rb"^--([!-~]{1,70})[ \t]*\r?\n[A-Za-z-]{2,40}:", re.M)


@dataclass
class Forward:
    """A forwarded mail: its text starts at ``at`` in the joined text."""

    at: int
    sender: str
    date: str
    subject: str


@dataclass
class Body:
    """What a walk found: text segments (joined with a blank line), HTML and attachments."""

    segments: list[str] = field(default_factory=list)
    forwards: list[tuple[int, str, str, str]] = field(default_factory=list)  # (segment, …)
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    def text(self) -> tuple[str, list[Forward]]:
        """The joined text and where each forwarded mail starts in it."""
        offsets: list[int] = []
        position = 0
        for index, segment in enumerate(self.segments):
            offsets.append(position)
            position += len(segment) + (2 if index < len(self.segments) - 1 else 0)
        offsets.append(position)
        forwards = [
            Forward(min(offsets[index], position), sender, date, subject)
            for index, sender, date, subject in self.forwards
        ]
        return "\n\n".join(self.segments), forwards


def raw_payload(part: Message) -> Any:
    """The parts of a multipart, or the undecoded body: never raises (a charset parameter
    with a NUL makes ``get_payload`` fail on some bodies)."""
    try:
        return part.get_payload()
    except (ValueError, LookupError, TypeError):
        return getattr(part, "_payload", None)


def payload(part: Message) -> bytes:
    """A leaf's decoded bytes (base64, quoted-printable…), the raw text if decoding fails."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = raw_payload(part)
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
        if name and ("\ufffd" in name or "=?" in name):
            # 8-bit or encoded-word names: read them again with the modern header parser.
            name = _modern_headers(part).get_filename() or name
    except Exception:
        return None
    if not name:
        return None
    return decode_words(name).replace("/", "_").replace("\\", "_")[:200] or None


def _modern_headers(part: Message) -> Message:
    raw = "".join(f"{key}: {value}\n" for key, value in part.raw_items())
    return BytesHeaderParser(policy=policy.default).parsebytes(
        raw.encode("utf-8", "surrogateescape") + b"\n"
    )


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def leaf_text(part: Message, content_type: str) -> str:
    """A text leaf as readable text: HTML and enriched text rendered, line ends normalised."""
    text = decode_text(payload(part), _charset(part))
    if content_type == "text/plain" and _param(part, "format").lower() == "flowed":
        text = unflow(text.replace("\r\n", "\n"), _param(part, "delsp").lower() == "yes")
    if content_type == "text/html" or (content_type == "text/plain" and _HTML_BODY.match(text)):
        text = html_to_text(text)  # HTML sent as text/plain is HTML all the same
    elif content_type in ("text/enriched", "text/richtext"):
        text = enriched_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _disposition_param(part: Message, name: str) -> bool:
    try:
        return part.get_param(name, header="content-disposition") is not None
    except Exception:
        return False


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    return value if isinstance(value, str) else ""


class Walker:
    """One walk over one mail; ``attachment_cap`` bounds the bytes kept per file."""

    def __init__(self, attachment_cap: int) -> None:
        self.cap = attachment_cap
        self.body = Body()
        self.root: Message | None = None

    def walk(self, part: Message, depth: int = 0) -> Body:
        self.root = part
        self._part(part, depth, show=True)
        return self.body

    def _part(self, part: Message, depth: int, *, show: bool) -> None:
        content_type = _content_type(part)
        maintype, _, subtype = content_type.partition("/")
        payload_value = raw_payload(part)
        children = (
            [child for child in payload_value if isinstance(child, Message)]
            if isinstance(payload_value, list)
            else None
        )
        if depth > MAX_DEPTH:
            # Hostile nesting: its leaves in order, without recursing any deeper.
            for leaf in leaves(part):
                self._leaf(leaf, _content_type(leaf), show=show)
        elif maintype == "multipart":
            if children:
                if subtype == "alternative":
                    self._alternative(children, depth, show=show)
                else:
                    for child in children:
                        self._part(child, depth + 1, show=show)
            else:
                self._broken_multipart(part, depth, show=show)
        elif content_type in ("message/rfc822", "message/global"):
            children = _forwarded_messages(part, children)
            for child in children:
                self._forwarded(child, depth, show=show)
        elif maintype == "message" and children is not None:
            # message/delivery-status and friends: header blocks, readable as they are.
            if show:
                blocks = [_header_block(block) for block in children]
                self._add_text("\n\n".join(b for b in blocks if b))
        else:
            self._leaf(part, content_type, show=show)

    def _alternative(self, children: list[Message], depth: int, *, show: bool) -> None:
        ranked = [(_rank(child), index) for index, child in enumerate(children)]
        # RFC 2046 prefers the last alternative, but among equals (two "text/plain", the second
        # really HTML) the first is the one mailers get right.
        chosen = min(ranked)[1]
        if self.body.html is None and show:
            self.body.html = _first_html(children)
        for index, child in enumerate(children):
            self._part(child, depth + 1, show=show and index == chosen)

    def _forwarded(self, inner: Message, depth: int, *, show: bool) -> None:
        if not show:
            self._part(inner, depth + 1, show=False)
            return
        sender = decode_words(_raw_header(inner, "From"))
        date = decode_words(_raw_header(inner, "Date"))
        subject = decode_words(_raw_header(inner, "Subject"))
        self.body.forwards.append((len(self.body.segments), sender, date, subject))
        html = self.body.html
        self.body.html = html if html is not None else ""  # the outer mail's HTML only
        self._part(inner, depth + 1, show=True)
        self.body.html = html

    def _broken_multipart(self, part: Message, depth: int, *, show: bool) -> None:
        raw = payload(part)
        found = _BOUNDARY_LINE.search(raw)
        # Surely MIME: the body opens with a delimiter, or uses the same one again later.
        if found is not None and (
            not raw[: found.start()].strip() or raw.count(b"\n--" + found.group(1)) > 1
        ):
            # The declared boundary is missing or wrong but the parts are there: split on the
            # boundary the body actually uses.
            boundary = found.group(1).decode("ascii")
            rebuilt = email.message_from_bytes(
                f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode() + raw,
                policy=policy.default,
            )
            if isinstance(raw_payload(rebuilt), list) and raw_payload(rebuilt):
                self._part(rebuilt, depth + 1, show=show)
                return
        self._raw(part, show=show)

    def _raw(self, part: Message, *, show: bool) -> None:
        if show:
            text = decode_text(payload(part), _charset(part))
            self._add_text(text.replace("\r\n", "\n").replace("\r", "\n").strip())

    def _leaf(self, part: Message, content_type: str, *, show: bool) -> None:
        maintype, _, subtype = content_type.partition("/")
        disposition = _disposition(part)
        is_text = maintype == "text" and subtype not in _TEXT_FILES
        # A named text part inside a multipart is a file (notes.txt), unless only its type
        # names it and it says "inline" (a notice a gateway added); a mail's only part is its
        # body, whatever name it carries.
        named = part is not self.root and (
            _disposition_param(part, "filename")
            or (_filename(part) is not None and disposition != "inline")
        )
        if is_text and disposition != "attachment" and not named:
            if show:
                if content_type == "text/html" and self.body.html is None:
                    self.body.html = decode_text(payload(part), _charset(part))
                self._add_text(leaf_text(part, content_type))
            return
        name = self._attach(part, content_type)
        if show and maintype == "image" and disposition != "attachment":
            self._add_text(f"[image: {name}]")

    def _attach(self, part: Message, content_type: str) -> str:
        data = payload(part)
        name = _filename(part) or self._default_name(content_type)
        self.body.attachments.append(
            Attachment(
                filename=name,
                content_type=content_type,
                size=len(data),
                data=data if len(data) <= self.cap else None,
            )
        )
        return name

    def _default_name(self, content_type: str) -> str:
        extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
        maintype = content_type.partition("/")[0] or "file"
        return f"{maintype}-{len(self.body.attachments) + 1}{extension}"

    def _add_text(self, text: str) -> None:
        # Control characters (a binary file sent as text) are no words and break storage.
        text = _CONTROLS.sub("", text)
        if text:
            self.body.segments.append(text)


def _forwarded_messages(part: Message, children: list[Message] | None) -> list[Message]:
    """The mail(s) in a message/rfc822 part, even encoded (base64, quoted-printable) against
    RFC 2046, which leaves the parser with a mail of no headers and an encoded body."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if children and encoding not in ("base64", "quoted-printable"):
        return children
    try:
        if children:
            inner = children[0]
            body = raw_payload(inner)
            text = body if isinstance(body, str) and not inner.keys() else inner.as_string()
        else:
            body = raw_payload(part)
            text = body if isinstance(body, str) else ""
        data = text.encode("utf-8", "surrogateescape")
    except (ValueError, LookupError, TypeError):  # a body the generator cannot write back
        return children or []
    try:
        if encoding == "base64":
            data = base64.b64decode(data)
        elif encoding == "quoted-printable":
            data = quopri.decodestring(data)
    except (ValueError, binascii.Error):
        pass  # not what it says: the bytes as they are
    return [email.message_from_bytes(data, policy=policy.compat32)]


def leaves(part: Message) -> Iterator[Message]:
    """The non-container parts under ``part`` in order, without recursion (hostile depth)."""
    stack = [part]
    while stack:
        current = stack.pop()
        children = raw_payload(current)
        if isinstance(children, list):
            stack.extend(reversed([c for c in children if isinstance(c, Message)]))
        else:
            yield current


def _rank(part: Message) -> int:
    """How good an alternative is to read: plain 0, HTML 1, other text 2, anything else 3."""
    for leaf in leaves(part):
        content_type = _content_type(leaf)
        if _disposition(leaf) == "attachment":
            continue
        if content_type == "text/plain":
            return 0
        if content_type == "text/html":
            return 1
        if content_type.startswith("text/"):
            return 2
        return 3
    return 3


def _first_html(children: list[Message]) -> str | None:
    for child in children:
        for leaf in leaves(child):
            if _content_type(leaf) == "text/html" and _disposition(leaf) != "attachment":
                return decode_text(payload(leaf), _charset(leaf))
    return None


def _raw_header(message: Message, name: str) -> str:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _header_block(block: Message) -> str:
    return "\n".join(f"{key}: {decode_words(str(value))}" for key, value in block.raw_items())
