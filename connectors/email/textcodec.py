"""Mail bytes and header values to text, whatever charset they claim or carry."""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

_SURROGATES = re.compile("[\udc80-\udcff]")


def decode_text(payload: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset, then UTF-8, then cp1252 — never raises.

    A declared multi-byte charset (GB2312, Big5, Shift_JIS…) with a few bad bytes is kept,
    with those bytes replaced: reading Chinese as cp1252 would garble all of it.
    """
    declared = _lookup(charset) if charset else None
    for name in (declared, "utf-8", "cp1252"):
        if name is None:
            continue
        if name == "cp1252" and declared not in (None, "utf-8", "cp1252"):
            try:
                return payload.decode(declared, errors="replace")
            except (ValueError, LookupError):  # a codec without "replace" (idna)
                pass
        try:
            return payload.decode(name)
        except (UnicodeDecodeError, ValueError, LookupError):
            continue
    return payload.decode("utf-8", errors="replace")


def _lookup(charset: str) -> str | None:
    try:
        info = codecs.lookup(_charset_alias(charset))
    except (LookupError, TypeError, ValueError):
        return None
    # "charset=base64" names a codec, but one of bytes to bytes: not a charset.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _charset_alias(name: str) -> str:
    name = name.strip().strip('"').lower()
    # Mail clients say these and mean the superset their system actually wrote.
    aliases = {
        "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8",
        "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "ks_c_5601-1987": "cp949",
        "euc-kr": "cp949", "shift_jis": "cp932", "x-sjis": "cp932", "big5": "big5hkscs",
    }  # fmt: skip
    return aliases.get(name, name)


def unescape(value: str) -> str:
    """A raw header read from bytes keeps 8-bit bytes as surrogates: decode them as text."""
    if not _SURROGATES.search(value):
        return value
    return decode_text(value.encode("utf-8", "surrogateescape"), None)


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded (leniently, per chunk), on one line."""
    raw = unescape(raw)
    try:
        chunks = decode_header(raw)
    except Exception:  # a malformed encoded word: the value as written
        return " ".join(raw.split())
    parts = []
    for value, charset in chunks:
        if isinstance(value, str):
            parts.append(value)
        elif charset is None:  # the unencoded text between encoded words
            parts.append(value.decode("raw-unicode-escape"))
        else:
            parts.append(decode_text(value, charset))
    # decode_header drops the space between an encoded word and plain text: put it back.
    return " ".join(" ".join(part.split()) for part in parts if part.strip())


def unflow(text: str, delsp: bool = False) -> str:
    """format=flowed (RFC 3676): a line ending in a space goes on with the next one."""
    out: list[tuple[str, str]] = []
    flowing = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        quote, content = line[:depth], line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if flowing and out and out[-1][0] == quote:
            out[-1] = (quote, out[-1][1] + content)
        else:
            out.append((quote, content))
        flowing = soft
    return "\n".join(f"{quote} {content}" if quote else content for quote, content in out)
