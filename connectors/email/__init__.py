"""Email: IMAP in (IDLE or polling), SMTP out.

The app builds one :class:`EmailConnector` per :class:`MailboxConfig`; see ``connector.py``.
"""

from connectors.email.compose import auto_reply, build_reply, reply_subject
from connectors.email.config import MailboxConfig
from connectors.email.connector import EmailConnector
from connectors.email.noise import AutoReplyLimiter, classify, may_auto_reply
from connectors.email.parse import parse_message

__all__ = [
    "AutoReplyLimiter",
    "EmailConnector",
    "MailboxConfig",
    "auto_reply",
    "build_reply",
    "classify",
    "may_auto_reply",
    "parse_message",
    "reply_subject",
]
