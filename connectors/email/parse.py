"""Raw RFC 5322 bytes to an :class:`InboundMessage`. Pure: no I/O, no clock unless given.

Lenient by design: lying charsets, broken headers and odd MIME trees degrade to something
readable. What still raises here is quarantined by the connector with the raw bytes kept.
The mail's time is when it reached us (the INTERNALDATE); its ``Date:`` is information only.
"""

from __future__ import annotations

import email
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.base import Author, Channel, InboundMessage
from connectors.email.addresses import addresses, is_no_reply, raw_header, sender, unknown_id
from connectors.email.forwarded import find_forwards, is_forward_subject
from connectors.email.htmltext import sanitise_html
from connectors.email.mime import Walker
from connectors.email.noise import classify
from connectors.email.quotes import find_quote_start, new_part_first, split_reply
from connectors.email.textcodec import decode_text, decode_words

__all__ = ["decode_text", "parse_message"]

DEFAULT_CAP = 10 * 1024 * 1024
_TOKEN = re.compile(r"\[#([A-Za-z0-9][A-Za-z0-9_-]{0,63})\]")
_MSGID = re.compile(r"<([^<>\s]+)>")


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
    """A header as readable text (encoded words decoded, one line); "" when absent."""
    return decode_words(raw_header(message, name))


def sent_date(message: Message) -> datetime | None:
    """The sender's ``Date:`` as aware UTC, whatever its value; None when unreadable."""
    value = header(message, "Date")
    try:
        parsed = _parse_date(value) if value else None
        if parsed is None:
            return None
        if parsed.tzinfo is None:  # "-0000": the zone is unknown (RFC 5322 §3.3), read as UTC
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _parse_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        # Some web forms write ISO 8601 ("2026-07-21T10:00:00Z") instead of RFC 5322.
        return datetime.fromisoformat(value.strip())


def arrival(internal: datetime | None, now: datetime) -> datetime:
    """When the mail reached us: the server's INTERNALDATE, never later than ``now``."""
    if internal is None:
        return now
    if internal.utcoffset() is None:
        internal = internal.replace(tzinfo=UTC)
    return min(internal.astimezone(UTC), now)


def fingerprint(sender_address: str, text: str) -> str:
    """A digest of who sent what, blind to transport details (line ends, spacing)."""
    normalised = " ".join(text.split())
    return hashlib.sha256(f"{sender_address.lower()}\n{normalised}".encode()).hexdigest()


def _references(message: Message, own_id: str, subject: str) -> tuple[str, ...]:
    found = message_ids(header(message, "In-Reply-To"))
    found += list(reversed(message_ids(header(message, "References"))))
    found += [f"token:{token}" for token in conversation_tokens(subject)]
    return tuple(ref for ref in dict.fromkeys(found) if ref != own_id)


def _text_and_forwards(
    message: Message, subject: str, cap: int, details: dict[str, Any], metadata: dict[str, str]
) -> tuple[str, str | None, list[Any]]:
    """The whole text, its HTML, its attachments; forwards and folds into details/metadata."""
    body = Walker(cap).walk(message)
    text, attached = body.text()
    if not attached:
        # A bottom-posted answer moves in front of its quote; with forwarded mails placed at
        # known offsets the text stays in the writer's order.
        text = new_part_first(text).rstrip()
    inline = find_forwards(text, subject)
    if inline and not is_forward_subject(subject):
        # A reply whose quoted history holds a forward: that forward is history too.
        history = find_quote_start(text)
        if history is not None:
            inline = [f for f in inline if f.at < history]
    forwards = [(f.at, f.at, f.sender, f.date, f.subject) for f in attached]
    forwards += [(f.at, f.header_end, f.sender, f.date, f.subject) for f in inline]
    forwards.sort()
    if forwards:
        details["forwarded"] = [
            {"at": at, "from": who, "date": when, "subject": what}
            for at, _, who, when, what in forwards
        ]
    # What comes before the last forwarded mail's text is content, never folded away.
    floor = max((end for _, end, *_ in forwards), default=0)
    base = max((at for at, *_ in forwards), default=0)
    reply = split_reply(text, floor=floor, base=base, reorder=False)
    folds = [x for x in (reply.quote_start, reply.signature_start) if x is not None]
    if folds:
        # The app folds from "quote_start": quoted history or a signature, whichever is first.
        metadata["quote_start"] = str(min(folds))
    if reply.signature_start is not None:
        metadata["signature_start"] = str(reply.signature_start)
    html = sanitise_html(body.html) if body.html else None
    return text, html, body.attachments


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
    # compat32 keeps headers as the strings they are: each part is several times cheaper to
    # walk than with the header registry, and a 200 kB header is decoded once, not re-parsed
    # on every read. Values are decoded here (textcodec, addresses).
    message = email.message_from_bytes(raw, policy=policy.compat32)
    raw_id = header(message, "Message-ID")
    external_id = normalise_message_id(raw_id) if raw_id else ""
    metadata: dict[str, str] = {}
    details: dict[str, Any] = {}
    if not external_id:
        external_id = synthetic_message_id(raw)
        metadata["message_id_synthesised"] = "1"
        metadata["auto_reply"] = "no"  # nothing to thread an answer on: maybe a robot
        details["no_message_id"] = True
    subject = header(message, "Subject")
    text, html, attachments = _text_and_forwards(
        message, subject, attachment_cap, details, metadata
    )
    author = sender(message)
    if author.reply_to:
        details["reply_to"] = author.reply_to
    if author.via:
        details["via"] = author.via
    elif author.from_address and not author.reply_to and is_no_reply(author.from_address):
        metadata["auto_reply"] = "no"  # a no-reply address would bounce it
    for key, header_name in (("to", "To"), ("cc", "Cc")):
        if value := addresses(message, header_name):
            details[key] = value
    if message.defects:
        metadata["defects"] = str(len(message.defects))
    contact = author.address.lower() or unknown_id(external_id, text, author.from_text)
    metadata["fingerprint"] = fingerprint(author.address or author.from_text, text)
    language = header(message, "Content-Language").split(",")[0].strip()
    return InboundMessage(
        channel=Channel.EMAIL,
        account=account,
        external_id=external_id,
        thread_key=external_id,
        author=Author(
            external_id=contact, name=author.name, handle=author.address, language=language[:35]
        ),
        text=text,
        html=html,
        subject=subject,
        received_at=arrival(received_at, now),
        sent_at=sent_date(message),
        references=_references(message, external_id, subject),
        attachments=tuple(attachments),
        kind=classify(message, author.from_address or author.address, author.from_text),
        metadata=metadata,
        details=details,
    )
