"""Raw RFC 5322 bytes to an :class:`InboundMessage`. Pure: no I/O, no clock unless given.

Lenient by design: lying charsets, broken headers and odd MIME trees degrade to something
readable. What still raises here is quarantined by the connector with the raw bytes kept.
"""

from __future__ import annotations

import codecs
import email
import hashlib
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from connectors.base import Attachment, Author, Channel, InboundMessage
from connectors.email.htmltext import html_to_text, sanitise_html
from connectors.email.noise import classify
from connectors.email.quotes import split_reply

DEFAULT_CAP = 10 * 1024 * 1024
_TOKEN = re.compile(r"\[#([A-Za-z0-9][A-Za-z0-9_-]{0,63})\]")
_MSGID = re.compile(r"<([^<>\s]+)>")
_FUTURE_SLACK = timedelta(days=1)


def normalise_message_id(value: str) -> str:
    """``<abc@host>`` → ``abc@host``; a bare id is kept (without stray brackets or spaces)."""
    match = _MSGID.search(value)
    if match:
        return match.group(1)
    return "".join(value.split()).strip("<>")


def message_ids(value: str) -> list[str]:
    """Every Message-ID in a References / In-Reply-To header, in order."""
    found = _MSGID.findall(value)
    if found:
        return list(found)
    bare = normalise_message_id(value)
    return [bare] if bare else []


def synthetic_message_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID: the same bytes always give the same id."""
    return f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@concierge.invalid"


def conversation_tokens(subject: str) -> list[str]:
    """``Re: Ferry times [#C123]`` → ``["C123"]``."""
    return _TOKEN.findall(subject)


def header(message: Message, name: str) -> str:
    """A header as readable text, whatever state it is in; "" when absent."""
    try:
        value = message.get(name)
        return "" if value is None else _one_line(str(value))
    except Exception:  # the header registry can choke on broken syntax: decode the raw value
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        return _decode_raw_header(str(raw))


def _decode_raw_header(raw: str) -> str:
    try:
        return _one_line(str(make_header(decode_header(raw))))
    except Exception:
        return _one_line(raw)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def decode_text(payload: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset, then UTF-8, then cp1252 — never raises."""
    candidates = [charset] if charset else []
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            codec = codecs.lookup(_charset_alias(name))
        except (LookupError, TypeError):
            continue
        try:
            return payload.decode(codec.name)
        except (UnicodeDecodeError, ValueError):
            continue
    return payload.decode("utf-8", errors="replace")


def _charset_alias(name: str) -> str:
    name = name.strip().strip('"').lower()
    # Mail clients say these and mean the superset Windows actually wrote.
    aliases = {"iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8"}
    return aliases.get(name, name)


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    return _decode_raw_header(name).replace("/", "_").replace("\\", "_")[:200]


def _is_attachment(part: Message, content_type: str) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    if disposition == "attachment":
        return True
    return not content_type.startswith("text/") and _filename(part) is not None


class _Bodies:
    def __init__(self) -> None:
        self.plain: str | None = None
        self.html: str | None = None
        self.attachments: list[Attachment] = []


def _collect(message: Message, cap: int) -> _Bodies:
    bodies = _Bodies()
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        content_type = part.get_content_type()  # parsed again on every call: once per part
        attached = _is_attachment(part, content_type)
        if not attached and content_type == "text/plain" and bodies.plain is None:
            bodies.plain = decode_text(_payload(part), _charset(part))
        elif not attached and content_type == "text/html" and bodies.html is None:
            bodies.html = decode_text(_payload(part), _charset(part))
        elif attached or content_type.partition("/")[0] not in ("text", "message"):
            data = _payload(part)
            bodies.attachments.append(
                Attachment(
                    filename=_filename(part) or f"part-{index}",
                    content_type=content_type,
                    size=len(data),
                    data=data if len(data) <= cap else None,
                )
            )
    return bodies


def _sender(message: Message) -> tuple[str, str]:
    """(display name, address) of the author: From, else Sender, Reply-To, Return-Path."""
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        for display, address in getaddresses([header(message, name)]):
            if "@" in address:
                return _one_line(display), address.strip()
    return "", header(message, "From") or "unknown"


def _addresses(message: Message, name: str) -> str:
    value = header(message, name)
    return ", ".join(address for _, address in getaddresses([value]) if address)


def _date(message: Message, internal: datetime | None, now: datetime) -> datetime:
    fallback = internal or now
    value = header(message, "Date")
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    # A sender's clock far in the future would sort the mail above everything: trust the server.
    if parsed > fallback + _FUTURE_SLACK or parsed.year < 1990:
        return fallback
    return parsed


def _references(message: Message, own_id: str, subject: str) -> tuple[str, ...]:
    found = message_ids(header(message, "In-Reply-To"))
    found += list(reversed(message_ids(header(message, "References"))))
    found += [f"token:{token}" for token in conversation_tokens(subject)]
    return tuple(ref for ref in dict.fromkeys(found) if ref != own_id)


def parse_message(
    raw: bytes,
    *,
    account: str,
    received_at: datetime | None = None,
    now: datetime | None = None,
    attachment_cap: int = DEFAULT_CAP,
) -> InboundMessage:
    """One raw mail as an InboundMessage; ``received_at`` is the IMAP INTERNALDATE if known."""
    now = now or datetime.now(UTC)
    message = email.message_from_bytes(raw, policy=policy.default)
    name, address = _sender(message)
    raw_id = header(message, "Message-ID")
    external_id = normalise_message_id(raw_id) if raw_id else ""
    metadata: dict[str, str] = {}
    if not external_id:
        external_id = synthetic_message_id(raw)
        metadata["message_id_synthesised"] = "1"
    subject = header(message, "Subject")
    bodies = _collect(message, attachment_cap)
    html = sanitise_html(bodies.html) if bodies.html is not None else None
    text = bodies.plain if bodies.plain is not None else html_to_text(bodies.html or "")
    reply = split_reply(text.replace("\r\n", "\n").strip())
    if reply.quote_start is not None:
        metadata["quote_start"] = str(reply.quote_start)
    if reply.signature_start is not None:
        metadata["signature_start"] = str(reply.signature_start)
    for key, header_name in (("to", "To"), ("cc", "Cc")):
        if value := _addresses(message, header_name):
            metadata[key] = value
    if date := header(message, "Date"):
        metadata["date"] = date
    if message.defects:
        metadata["defects"] = str(len(message.defects))
    language = header(message, "Content-Language").split(",")[0].strip()
    return InboundMessage(
        channel=Channel.EMAIL,
        account=account,
        external_id=external_id,
        thread_key=external_id,
        author=Author(
            external_id=address.lower(), name=name, handle=address, language=language[:35]
        ),
        text=reply.text,
        html=html,
        subject=subject,
        received_at=_date(message, received_at, now),
        references=_references(message, external_id, subject),
        attachments=tuple(bodies.attachments),
        kind=classify(message, address),
        metadata=metadata,
    )
