"""Who wrote a mail and where the answer goes: From, Sender, Reply-To (RFC 5322 §3.6.2).

Names are read from the raw header so the old ``bbb@ddd.com (John Doe)`` form keeps its name;
encoded words (RFC 2047) are decoded. A web form's ``no-reply@…`` with a ``Reply-To`` is the
Reply-To person writing through the form. A mail with no usable address gets a contact of its
own, never a shared "unknown" one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from connectors.email.textcodec import decode_words, unescape

# Local parts that say "nobody reads this mailbox": a web form, a CMS, a notification robot.
_NO_REPLY = re.compile(
    r"no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?respon[sd]|"
    r"ne[-_.]?pas[-_.]?r[eé]pondre|nepasrepondre|nicht[-_.]?antworten|noresponder",
    re.IGNORECASE,
)
_ROBOT_WORDS = {
    "mailer", "wordpress", "forms", "form", "webform", "webforms", "formulaire", "formulaires",
    "contactform", "nobody", "notification", "notifications", "notify", "www-data", "apache",
    "daemon", "automailer", "mailer-daemon", "postmaster",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class Sender:
    """The author of a mail, and what the adviser should know about where the answer goes."""

    name: str
    address: str  # "" when the mail carried no usable address
    from_address: str  # the From address as written ("" when there was none)
    reply_to: str  # the Reply-To address when it differs from From
    via: str  # the From address when the author is the Reply-To person
    from_text: str  # the From header as written (for a mail without a usable address)


def raw_header(message: Message, name: str) -> str:
    """A header's raw value (all of its lines) or "" — never re-formatted by the policy."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def people(message: Message, name: str) -> list[Person]:
    """The addresses of a header in order, with decoded names; unusable ones left out."""
    raw = " ".join(unescape(raw_header(message, name)).split())
    if not raw:
        return []
    try:
        pairs = getaddresses([raw])
    except Exception:
        return []
    found = []
    for display, address in pairs:
        address = address.strip().strip("<>")
        local, at, domain = address.rpartition("@")
        if at and local and domain and " " not in address:
            found.append(Person(decode_words(display).strip('"').strip(), address))
    return found


def display_text(message: Message, name: str) -> str:
    """A header as one readable line, encoded words decoded."""
    return decode_words(raw_header(message, name))


def is_no_reply(address: str) -> bool:
    """``no-reply@``, ``ne-pas-repondre@``, ``wordpress@``, ``forms-bot@``: nobody reads it."""
    local = address.rpartition("@")[0].lower()
    if _NO_REPLY.search(local):
        return True
    words = set(re.split(r"[-_.+]", local))
    return local in _ROBOT_WORDS or bool(words & _ROBOT_WORDS)


def sender(message: Message) -> Sender:
    """The author: From (else Sender, else Reply-To), the Reply-To person behind a no-reply."""
    from_people = people(message, "From")
    reply_people = people(message, "Reply-To")
    author = next(
        iter(from_people or people(message, "Sender") or reply_people),
        Person("", ""),
    )
    from_address = from_people[0].address if from_people else ""
    reply = reply_people[0] if reply_people else None
    reply_to = ""
    if reply is not None and reply.address.lower() != author.address.lower():
        reply_to = reply.address
    via = ""
    if reply_to and reply is not None and from_address and is_no_reply(from_address):
        author, via = reply, from_address
    from_text = display_text(message, "From")
    name = author.name
    if not author.address:
        # "MAILER-DAEMON <>", "undisclosed": show what the header said, whatever it was.
        name = _name_without_address(from_text)
    return Sender(name, author.address, from_address, reply_to, via, from_text)


def _name_without_address(value: str) -> str:
    return " ".join(re.sub(r"<[^<>]*>", " ", value).split()).strip('"').strip()[:200]


def unknown_id(message_id: str, text: str, from_text: str) -> str:
    """A contact id unique to one mail without a usable address (stable for the same mail)."""
    digest = hashlib.sha256(f"{message_id}\n{from_text}\n{text}".encode()).hexdigest()
    return f"unknown:{digest[:32]}"


def addresses(message: Message, name: str) -> str:
    """The addresses of a header as one comma-separated string."""
    return ", ".join(person.address for person in people(message, name))
