"""Outgoing mail: an adviser's reply or Concierge's automatic reply, as an EmailMessage.

Header values are made single-line here (CR/LF become spaces), so nothing a visitor wrote in a
subject or a name can inject a header.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from connectors.base import Channel, InboundMessage, MessageKind, OutboundMessage
from connectors.email.config import MailboxConfig

_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|odp|réf|ref|rif|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_ID_CHARS = re.compile(r"^[^\s<>()\[\]\\,;:\"]+@[^\s<>()\[\]\\,;:\"]+$")
AUTO_METADATA = "auto"  # OutboundMessage.metadata[AUTO_METADATA] == "1": an automatic reply


def one_line(value: str) -> str:
    """Collapse every whitespace run, CR and LF included, so a value stays one header line."""
    return " ".join(value.split())


def reply_subject(subject: str, token: str = "") -> str:
    """``Re: Re: RE: Ferry`` → ``Re: Ferry``; the conversation token appended once."""
    base = _REPLY_PREFIX.sub("", one_line(subject)).strip() or "Your message"
    subject = f"Re: {base}"
    token = one_line(token).strip("[]# ")
    if token and f"[#{token}]" not in subject:
        subject += f" [#{token}]"
    return subject


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "concierge.invalid"


def _msgid(value: str) -> str | None:
    value = value.strip().strip("<>")
    return f"<{value}>" if _ID_CHARS.match(value) else None


def _recipient(message: OutboundMessage) -> str:
    address = one_line(message.recipient.handle or message.recipient.external_id)
    if not _ID_CHARS.match(address):
        raise ValueError(f"not a deliverable e-mail address: {address[:80]!r}")
    return address


def _html(text: str) -> str:
    paragraphs = [html.escape(p).replace("\n", "<br>\n") for p in text.strip().split("\n\n")]
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f'<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n{body}\n</body></html>\n'


def build_reply(
    config: MailboxConfig, message: OutboundMessage, *, now: datetime | None = None
) -> EmailMessage:
    """The mail for an adviser's reply; raises ValueError when the recipient is unusable."""
    mail = EmailMessage()
    mail["From"] = formataddr((one_line(config.display_name), config.address))
    mail["To"] = formataddr((one_line(message.recipient.name), _recipient(message)))
    mail["Subject"] = reply_subject(message.subject, message.metadata.get("token", ""))
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=_domain(config.address))
    chain = [
        ref for ref in (_msgid(r) for r in message.references if not r.startswith("token:")) if ref
    ]
    parent = _msgid(message.reply_to_external_id) if message.reply_to_external_id else None
    if parent:
        mail["In-Reply-To"] = parent
        if parent not in chain:
            chain.append(parent)
    if chain:
        # RFC 5322 asks for the whole chain; long threads keep the first and the latest ones.
        mail["References"] = " ".join(chain[:1] + chain[1:][-19:])
    if message.metadata.get(AUTO_METADATA) == "1":
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
        mail["Precedence"] = "auto_reply"
    mail.set_content(message.text)
    mail.add_alternative(_html(message.text), subtype="html")
    for file in message.attachments:
        if file.data is None:
            continue
        maintype, _, subtype = file.content_type.partition("/")
        mail.add_attachment(
            file.data, maintype=maintype, subtype=subtype or "octet-stream", filename=file.filename
        )
    return mail


def auto_reply(
    inbound: InboundMessage,
    text: str,
    *,
    conversation_id: int = 0,
    message_id: int = 0,
    token: str = "",
) -> OutboundMessage | None:
    """Concierge's automatic answer to ``inbound``, or None when it must not get one.

    Bounces, auto-replies and list mail never get one (RFC 3834); rate-limit per sender with
    :class:`connectors.email.noise.AutoReplyLimiter` before sending.
    """
    if inbound.kind is not MessageKind.NORMAL or inbound.channel is not Channel.EMAIL:
        return None
    metadata = {AUTO_METADATA: "1"}
    if token:
        metadata["token"] = token
    return OutboundMessage(
        channel=Channel.EMAIL,
        account=inbound.account,
        conversation_id=conversation_id,
        message_id=message_id,
        thread_key=inbound.thread_key,
        recipient=inbound.author,
        text=text,
        subject=inbound.subject,
        reply_to_external_id=inbound.external_id,
        references=(*reversed(inbound.references), inbound.external_id),
        metadata=metadata,
    )
