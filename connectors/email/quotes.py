"""Where the quoted history and the signature start in a reply, so the adviser view can fold them.

Pure functions on plain text. Nothing is removed: :func:`split_reply` returns the whole text
(with a bottom-posted reply moved in front of the quote it answers) and character offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "On Mon, Apr 2, 2012 at 6:26 PM, Megan <x@y> wrote:" — clients wrap it over up to 3 lines.
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?:(?:On|Am|Le|El|Il|Op|Em|Den|På|W dniu)\b|\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
    r"[^\n]*(?:\n[^\n]*){0,2}?"
    r"(?:wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev|napisał|написала?)"
    r"[ \t]*:[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:Original Message|Message d'origine|Ursprüngliche Nachricht|"
    r"Mensaje original|Messaggio originale)[ \t]*-{2,}[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^[ \t]*_{20,}[ \t]*$", re.MULTILINE)
# An Outlook header block: "From:" then, within the next lines, "Sent:"/"Date:" and "Subject:".
_HEADER_BLOCK = re.compile(
    r"^[ \t]*\*?(?:From|De|Von|Van)\*?[ \t]*:[^\n]*\n"
    r"(?:[ \t]*\*?[\w ]{1,20}\*?[ \t]*:[^\n]*\n){1,5}?"
    r"[ \t]*\*?(?:Subject|Objet|Betreff|Asunto|Onderwerp)\*?[ \t]*:",
    re.MULTILINE | re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>", re.MULTILINE)
_SIGNATURE = re.compile(r"^--[ \t]?$", re.MULTILINE)
# Lines a mail app adds under the text: surely a signature. A closing formula ("Cordialement,")
# is not folded: the words after it are often the writer's name or the rest of the message.
_MOBILE_SIGNATURE = re.compile(
    r"^[ \t]*(?:Sent from my|Sent from (?:Outlook|Yahoo Mail|Mail for Windows|Gmail|Proton)|"
    r"Sent with|Sent via|Get Outlook for|Envoyé de mon|Envoyé depuis|Envoyé à partir de|"
    r"Obtenir Outlook pour|Télécharger Outlook pour|Téléchargez Outlook pour|Von meinem|"
    r"Gesendet von|Enviado desde|Enviado do meu|Inviato da|Verzonden (?:vanaf|met)|Skickat från)\b"
    r"[^\n]{0,80}$",
    re.MULTILINE | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str  # the whole text, the new part first
    quote_start: int | None  # offset where quoted history begins
    signature_start: int | None  # offset of the signature within the new part

    @property
    def new_part(self) -> str:
        ends = (self.signature_start, self.quote_start, len(self.text))
        return self.text[: min(x for x in ends if x is not None)].strip()


def find_quote_start(text: str, floor: int = 0, base: int = 0) -> int | None:
    """Offset of the first line of quoted history (attribution, header block or ``>`` block).

    Only history at or after ``floor`` counts, with words of its own between ``base`` and it:
    the part of a forwarded mail before ``floor`` is content, never folded.
    """
    starts = [
        start
        for pattern in (_ATTRIBUTION, _ORIGINAL, _UNDERSCORES, _HEADER_BLOCK, _QUOTED_LINE)
        if (start := _first_after(pattern, text, floor, base)) is not None
    ]
    return min(starts) if starts else None


def _first_after(pattern: re.Pattern[str], text: str, floor: int, base: int) -> int | None:
    # History after nothing at all is not a quote of a reply (a forwarded mail, a bare quote).
    match = pattern.search(text, floor)
    if match is not None and text[base : match.start()].strip():
        return match.start()
    return None


def find_signature_start(
    text: str, end: int | None = None, floor: int = 0, base: int = 0
) -> int | None:
    """Offset of a ``-- `` signature separator or a "Sent from my …" line before ``end``."""
    region = text[: len(text) if end is None else end]
    starts = [
        start
        for pattern in (_SIGNATURE, _MOBILE_SIGNATURE)
        if (start := _first_after(pattern, region, floor, base)) is not None
    ]
    return min(starts) if starts else None


def split_reply(text: str, *, floor: int = 0, base: int = 0, reorder: bool = True) -> Reply:
    """The reply with its new part first and the offsets of its quote and signature.

    ``floor``/``base``: see :func:`find_quote_start`; ``reorder`` False keeps the text as it
    is (its offsets are already given out, e.g. where forwarded mails start).
    """
    if reorder:
        text = new_part_first(text)
    quote_start = find_quote_start(text, floor, base)
    signature_start = find_signature_start(text, quote_start, floor, base)
    return Reply(text, quote_start, signature_start)


def new_part_first(text: str) -> str:
    """Move a bottom-posted answer in front of the quote it follows (one quote, then the reply)."""
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    head = index
    attribution = _ATTRIBUTION.match("".join(lines[index : index + 3]))
    if attribution is not None:
        index += attribution.group(0).count("\n") + 1
    quoted_from = index
    while index < len(lines) and (
        lines[index].lstrip().startswith(">") or not lines[index].strip()
    ):
        index += 1
    if index == quoted_from or index >= len(lines):
        return text
    rest = "".join(lines[index:])
    if _QUOTED_LINE.search(rest):
        return text  # interleaved answers: keep them in the writer's order
    quote = "".join(lines[head:index]).rstrip()
    return rest.rstrip() + "\n\n" + quote + "\n"
