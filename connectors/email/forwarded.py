"""Forwarded mails written inline in a text: where each starts and who sent it, when, on what.

Clients mark a forward with a line ("---------- Forwarded message ---------", "Begin forwarded
message:", "-------- Message transféré --------", "Début du message réexpédié :") followed by a
header block (From/De, Date/Envoyé, Subject/Objet…). Outlook writes "-----Original Message-----"
or a bare header block for replies and forwards alike: those count as forwards only when the
mail's own subject says it is one ("Fwd:", "TR:", "WG:"…); otherwise they are quoted history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FORWARD_MARK = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Forwarded message|Forwarded Message|Message transféré|"
    r"Message transfér[ée]|Weitergeleitete Nachricht|Mensaje reenviado|Messaggio inoltrato|"
    r"Doorgestuurd bericht)[ \t]*-{2,}|"
    r"(?:Begin forwarded message|Début du message réexpédié|Anfang der weitergeleiteten "
    r"Nachricht|Inicio del mensaje reenviado)[ \t]*:)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_ORIGINAL_MARK = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Original Message|Message d'origine|Ursprüngliche Nachricht|"
    r"Mensaje original|Messaggio originale)[ \t]*-{2,}|_{20,})[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_HEADER_LINE = re.compile(r"^[ \t]*\*?([^\W\d][\w' -]{0,24}?)\*?[ \t]*:[ \t]*(.*)$")
_KEYS = {
    "from": "from", "de": "from", "von": "from", "van": "from", "da": "from", "från": "from",
    "date": "date", "sent": "date", "envoyé": "date", "gesendet": "date", "datum": "date",
    "enviado": "date", "fecha": "date", "inviato": "date", "verzonden": "date",
    "subject": "subject", "objet": "subject", "betreff": "subject", "asunto": "subject",
    "onderwerp": "subject", "oggetto": "subject", "sujet": "subject",
    "to": "", "à": "", "a": "", "an": "", "aan": "", "para": "", "cc": "", "bcc": "",
    "reply-to": "", "répondre à": "", "antwort an": "",
}  # fmt: skip
_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:(?:re|aw|sv|antw|ref)\s*:\s*)*"
    r"(?:fwd?|tr|wg|rv|enc|i|fs|doorst|vs|vb)\s*:",
    re.IGNORECASE,
)
_BARE_BLOCK_START = re.compile(r"^[ \t]*\*?(?:From|De|Von|Van)\*?[ \t]*:", re.MULTILINE)
_MAX_HEADER_LINES = 12


@dataclass(frozen=True, slots=True)
class InlineForward:
    """A forward in a text: it starts at ``at``; its header block ends at ``header_end``."""

    at: int
    header_end: int
    sender: str
    date: str
    subject: str


def is_forward_subject(subject: str) -> bool:
    """ "Fwd: x", "TR : x", "[list] WG: x", "Re: Fwd: x" are forwards."""
    return _FORWARD_SUBJECT.match(subject) is not None


def find_forwards(text: str, subject: str = "") -> list[InlineForward]:
    """Every inline forward of ``text`` in order (a quoted ``>`` line never starts one)."""
    found: dict[int, InlineForward] = {}
    for match in _FORWARD_MARK.finditer(text):
        forward = _read_block(text, match.start(), match.end(), require_headers=False)
        if forward is not None:
            found[forward.at] = forward
    if is_forward_subject(subject):
        for match in _ORIGINAL_MARK.finditer(text):
            forward = _read_block(text, match.start(), match.end(), require_headers=True)
            if forward is not None:
                found.setdefault(forward.at, forward)
        for match in _BARE_BLOCK_START.finditer(text):
            if any(f.at <= match.start() < f.header_end for f in found.values()):
                continue
            forward = _read_block(text, match.start(), match.start(), require_headers=True)
            if forward is not None:
                found.setdefault(forward.at, forward)
    return [found[at] for at in sorted(found)]


def _read_block(
    text: str, at: int, after_mark: int, *, require_headers: bool
) -> InlineForward | None:
    """The header lines after a marker (blank lines before them allowed)."""
    values = {"from": "", "date": "", "subject": ""}
    position = after_mark
    if position < len(text) and text[position] == "\n":
        position += 1
    end = position if after_mark > at else at
    seen = 0
    last_key = ""
    for _ in range(_MAX_HEADER_LINES):
        if position >= len(text):
            break
        newline = text.find("\n", position)
        line_end = len(text) if newline < 0 else newline
        line = text[position:line_end]
        next_position = line_end + 1
        if not line.strip():
            if seen:
                break
            position = next_position
            continue
        match = _HEADER_LINE.match(line)
        key = _KEYS.get(match.group(1).strip().lower()) if match else None
        if match is None or key is None:
            if seen and last_key and line[:1] in " \t":
                values[last_key] = f"{values[last_key]} {line.strip()}"  # a wrapped value
                end = line_end
                position = next_position
                continue
            break
        seen += 1
        last_key = key
        if key:
            values[key] = values[key] or match.group(2).strip().strip("*").strip()
        end = line_end
        position = next_position
    if require_headers and not (values["from"] and (values["subject"] or values["date"])):
        return None
    return InlineForward(
        at, max(end, after_mark), values["from"], values["date"], values["subject"]
    )
