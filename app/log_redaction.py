"""Keeps bearer secrets out of the logs: query parameters such as ``token=`` are redacted.

Visitor tokens are 90-day bearer tokens carried in the socket URL (``/ws/visitor?token=…``):
uvicorn logs that URL in its access lines and in its websocket lines ("WebSocket /ws/visitor?…
[accepted]"). A filter on uvicorn's loggers rewrites every record before any handler sees it,
whatever the logging configuration (one worker or several, ``concierge run`` or a test server).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

# A parameter is secret when one of the words of its name is one of these (token, visitor_token,
# access-token, password, client_secret…), whatever the case.
SECRET_WORDS = frozenset({"token", "password", "passwd", "secret", "apikey", "auth", "signature"})
REDACTED = "[redacted]"
_QUERY_PARAMETER = re.compile(r"([?&;])([^=&;\s\"'#?]+)=([^&;\s\"'#]*)")
_WORD = re.compile(r"[a-z0-9]+")
_ICAL_FEED = re.compile(r"(/rota/ical/)[^/\s\"'?#]+?(\.ics)")


def _is_secret(name: str) -> bool:
    words = _WORD.findall(unquote(name).lower())
    return any(word in SECRET_WORDS for word in words) or "api_key" in name.lower()


def _redacted(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    if not value or not _is_secret(name):
        return match.group(0)
    return f"{separator}{name}={REDACTED}"


LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "websockets")


def redact(text: str) -> str:
    """``text`` with the value of every secret-looking query parameter replaced."""
    if "/rota/ical/" in text:  # the calendar feed's token is its path
        text = _ICAL_FEED.sub(r"\1" + REDACTED + r"\2", text)
    if "=" not in text:
        return text
    return _QUERY_PARAMETER.sub(_redacted, text)


class RedactSecrets(logging.Filter):
    """Redacts each argument of a record, keeping the arguments' shape: uvicorn's access
    formatter unpacks them (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True


def _clean(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


_FILTER = RedactSecrets()


def install() -> None:
    """Adds the filter to uvicorn's loggers (once, however often the app is created)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
