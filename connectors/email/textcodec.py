"""Mail bytes and header values to text, whatever charset they claim or carry."""

from __future__ import annotations

import codecs
import re
from email.header import decode_header, make_header

_SURROGATES = re.compile("[\udc80-\udcff]")


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


def unescape(value: str) -> str:
    """A raw header read from bytes keeps 8-bit bytes as surrogates: decode them as text."""
    if not _SURROGATES.search(value):
        return value
    return decode_text(value.encode("utf-8", "surrogateescape"), None)


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded, on one line; the raw value if they are broken."""
    raw = unescape(raw)
    try:
        value = str(make_header(decode_header(raw)))
    except Exception:
        value = raw
    return " ".join(value.split())
