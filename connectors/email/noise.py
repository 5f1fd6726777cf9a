"""Mail loops and noise (RFC 3834): what is not a person writing, and how we answer automatically.

Bounces, auto-replies and list mail must never get an automatic reply from Concierge; our own
automatic replies say so (``Auto-Submitted: auto-replied``) and are rate-limited per sender.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from email.message import Message

from connectors.base import MessageKind

_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post", "Mailing-List")


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse still tells us it is present
        return "?"
    return "" if value is None else " ".join(str(value).split())


def classify(message: Message, sender: str = "") -> MessageKind:
    """The kind of an inbound mail: a bounce, an auto-reply, list/bulk mail or a normal one."""
    content_type = message.get_content_type()
    try:
        report_type = str(message.get_param("report-type") or "").lower()
    except Exception:
        report_type = ""
    local = sender.lower().rpartition("@")[0] or sender.lower()
    if (
        (content_type == "multipart/report" and report_type == "delivery-status")
        or content_type == "message/delivery-status"
        or local in _BOUNCE_SENDERS
    ):
        return MessageKind.BOUNCE
    if _header(message, "Return-Path").strip() == "<>" and _is_dsn_like(message):
        return MessageKind.BOUNCE
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return MessageKind.AUTO_REPLY
    if (
        content_type == "multipart/report"
        or _header(message, "X-Autoreply")
        or _header(message, "X-Autorespond")
    ):
        return MessageKind.AUTO_REPLY
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list") or any(_header(message, h) for h in _LIST_HEADERS):
        return MessageKind.LIST
    if _header(message, "Return-Path").strip() == "<>":
        # An empty return path is how the sender says "do not answer me" (RFC 3834 §2).
        return MessageKind.AUTO_REPLY
    return MessageKind.NORMAL


def _is_dsn_like(message: Message) -> bool:
    subject = _header(message, "Subject").lower()
    return any(
        word in subject for word in ("undeliver", "delivery status", "failure notice", "returned")
    )


def may_auto_reply(kind: MessageKind) -> bool:
    """Only a person writing gets an automatic answer."""
    return kind is MessageKind.NORMAL


class AutoReplyLimiter:
    """At most one automatic reply per sender per ``window``; pure, the caller passes ``now``.

    Keeps the ``capacity`` most recent senders only, so a flood cannot grow it without bound.
    """

    def __init__(self, window: timedelta = timedelta(hours=4), capacity: int = 10_000) -> None:
        self.window = window
        self.capacity = capacity
        self._last: OrderedDict[str, datetime] = OrderedDict()

    def allow(self, sender: str, now: datetime) -> bool:
        """True (and remembered) when ``sender`` may get an automatic reply at ``now``."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        key = sender.strip().lower()
        if not key:
            return False
        last = self._last.get(key)
        if last is not None and now - last < self.window:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)
        return True
