"""Who wrote an inbound message, and whether it is one already stored.

Two questions the inbox answers before storing anything, kept apart from the ingest itself:

* the contact: one person per channel identity — but an identity that names nobody (no usable
  sender, a placeholder such as ``unknown`` or a ``no-reply`` address) must never gather several
  people into one contact, or erasing one would erase them all (app.privacy);
* the stored message with the same channel id: the same message read again (a replay, an IMAP
  re-scan), or a different one that shares its id (broken mailers reuse Message-IDs), told apart
  by the content digest the connector puts in ``metadata["fingerprint"]``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy import select as select_core
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, orm_reads
from app.models import ERASED, ERASED_DETAILS, Account, Contact, Message, erased_id
from app.repository import json_object
from app.services import Services
from connectors.base import Channel, InboundMessage

# Sender ids a channel or a broken client uses for "nobody in particular" (compared lowercased).
PLACEHOLDER_IDS = frozenset(
    {"", "unknown", "none", "null", "undefined", "anonymous", "nobody", "<>"}
)
# Mailbox names that stand for a robot or a form, never for one person (compared without
# "-", "_" and "."): no-reply@…, do-not-reply@…, MAILER-DAEMON@…
IMPERSONAL_MAILBOXES = frozenset(
    {"unknown", "nobody", "noreply", "donotreply", "mailerdaemon", "undisclosedrecipients"}
)
ANONYMOUS_PREFIX = "sender-unknown:"
FINGERPRINT_KEY = "fingerprint"  # where a message's content digest is kept in its details
PROFILE_KEYS = 20  # a channel's profile is a few strings: anything past this is dropped
PROFILE_CHARS = 500


def names_nobody(channel: str, external_id: str) -> bool:
    """Whether a sender id cannot stand for one person (so it must not be shared)."""
    value = external_id.strip().lower()
    if value in PLACEHOLDER_IDS or value.startswith(ERASED):
        return True
    if channel != Channel.EMAIL:
        return False
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or "@" in local:
        return True  # not an address: a bare name, "MAILER-DAEMON", "undisclosed-recipients:;"
    # RFC 2606: ".invalid" is never a real mailbox (placeholders and synthetic ids use it).
    if domain == "invalid" or domain.endswith(".invalid"):
        return True
    mailbox = local.split("+", 1)[0].translate(str.maketrans("", "", "-_."))
    return mailbox in IMPERSONAL_MAILBOXES


def contact_key(account: Account, inbound: InboundMessage) -> str:
    """The contact id of ``inbound``'s author: their own, or one for this message alone when
    their id names nobody (stable, so a retried ingest finds the same contact)."""
    author_id = inbound.author.external_id
    if not names_nobody(inbound.channel, author_id):
        return author_id[:320]
    digest = hashlib.sha256(f"{account.key}\0{inbound.external_id}".encode()).hexdigest()
    return ANONYMOUS_PREFIX + digest[:40]


def own_address(channel: str, key: str) -> str:
    """An e-mail contact's own address, recorded as its ``email`` ("" on other channels and for
    a sender that names nobody)."""
    if channel != Channel.EMAIL or key.startswith(ANONYMOUS_PREFIX) or "@" not in key:
        return ""
    return key[:320]


def profile_json(inbound: InboundMessage) -> str:
    """The author's profile as stored on the contact (compact JSON of strings), "" if none."""
    items = list(inbound.author.profile.items())[:PROFILE_KEYS]
    profile = {str(k)[:64]: str(v)[:PROFILE_CHARS] for k, v in items if str(k)}
    if not profile:
        return ""
    return json.dumps(profile, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


async def find_contact(
    session: AsyncSession, account: Account, inbound: InboundMessage, services: Services
) -> Contact:
    """The contact ``inbound`` comes from, created or refreshed with what the channel says."""
    author = inbound.author
    key = contact_key(account, inbound)
    params = {"destination_id": account.destination_id, "channel": inbound.channel, "key": key}
    found = await orm_reads.objects(session, _CONTACT, params)
    contact: Contact | None = found[0] if found else None
    profile = profile_json(inbound)
    if contact is None:
        contact = Contact(
            destination_id=account.destination_id,
            channel=inbound.channel,
            external_id=key,
            name=author.name[:200],
            handle=author.handle[:320],
            language=author.language[:16],
            created_at=services.clock.now(),
            profile=profile,
            email=own_address(inbound.channel, key),
        )
        session.add(contact)
        await session.flush()
        return contact
    changed = False
    for attr, value in (("name", author.name[:200]), ("handle", author.handle[:320])):
        if value and getattr(contact, attr) != value:
            setattr(contact, attr, value)
            changed = True
    # Contacts stored before addresses were recorded learn theirs at their next mail.
    if not contact.email and own_address(inbound.channel, key):
        contact.email = own_address(inbound.channel, key)
        changed = True
    # Learnt later (a DM says no language, the tweet after it does): kept once known.
    if author.language and not contact.language:
        contact.language = author.language[:16]
        changed = True
    # A message without a profile says nothing of it: the last one the channel sent stays.
    if profile and contact.profile != profile:
        contact.profile = profile
        changed = True
    if changed:
        session.add(contact)
    return contact


def fingerprint_of(inbound: InboundMessage) -> str:
    """The connector's content digest of ``inbound`` as stored ("" when it gave none)."""
    return inbound.metadata.get(FINGERPRINT_KEY, "").strip()[:128]


def derived_id(external_id: str, fingerprint: str) -> str:
    """The id of a different message that shared ``external_id``: stable for the same bytes."""
    suffix = "#" + fingerprint[:12]
    return external_id[: 512 - len(suffix)] + suffix


# Built once (see app.repository): every inbound message runs both.
_STORED_UNDER = (
    col(Message.account_id) == bindparam("account_id"),
    col(Message.external_id).in_(bindparam("ids", expanding=True)),
)
_STORED = select(Message).where(*_STORED_UNDER)
# Asked first, past the ORM: nearly every message is new, and finding none this way costs
# half what the ORM's read does. Its ids (the message's own, the one derived from its
# fingerprint, and the erased form of each) are at most ``_ANY_IDS``, given one parameter each
# (the first repeated to fill): a list parameter would make SQLAlchemy build the statement's
# text at each run, where a fixed one is run on the SQLite driver (app.sqlite_reads).
_ANY_IDS = 4
_ANY_STORED = (
    select_core(col(Message.id))
    .where(
        col(Message.account_id) == bindparam("account_id"),
        col(Message.external_id).in_([bindparam(f"id{n}") for n in range(_ANY_IDS)]),
    )
    .limit(1)
)
_CONTACT = select(Contact).where(
    Contact.destination_id == bindparam("destination_id"),
    Contact.channel == bindparam("channel"),
    Contact.external_id == bindparam("key"),
)


async def _stored(session: AsyncSession, account_id: int, ids: Sequence[str]) -> list[Message]:
    # An erased message keeps a hash of its id: read again, it stays erased.
    wanted = list(dict.fromkeys([*ids, *(erased_id(i) for i in ids)]))
    assert len(wanted) <= _ANY_IDS
    filled = [*wanted, *[wanted[0]] * (_ANY_IDS - len(wanted))]
    asked = {"account_id": account_id, **{f"id{n}": i for n, i in enumerate(filled)}}
    if not await db.plain_rows(session, _ANY_STORED, asked):
        return []
    params = {"account_id": account_id, "ids": wanted}
    rows = await session.exec(_STORED, params=params)
    return list(rows.all())


def _flat(text: str) -> str:
    return " ".join(text.split())


def _same_words(stored: Message, inbound: InboundMessage) -> bool:
    """For a row stored without a fingerprint: the same words (one text may be the start of the
    other, a newer parser showing more of a mail than an older one did). The sender is not
    compared: a message row keeps no author of its own (a thread's contact may not be it)."""
    old, new = _flat(stored.text), _flat(inbound.text)
    return old.startswith(new) or new.startswith(old)


async def already_stored(
    session: AsyncSession, account_id: int, inbound: InboundMessage
) -> tuple[Message | None, InboundMessage]:
    """The stored message ``inbound`` is (None if new), and the inbound to store otherwise:
    itself, or — when its id is taken by a different message — itself under a derived id, with
    ``details["duplicate_of"]`` naming the shared id and a thread of its own unless its
    references lead to one."""
    fingerprint = fingerprint_of(inbound)
    own = inbound.external_id
    derived = derived_id(own, fingerprint) if fingerprint else ""
    rows = await _stored(session, account_id, [own, derived] if derived else [own])
    by_id = {m.external_id: m for m in rows}
    for key in (derived, erased_id(derived)) if derived else ():
        if key in by_id:
            return by_id[key], inbound  # the different one, read again
    stored = by_id.get(own) or by_id.get(erased_id(own))
    if stored is None:
        return None, inbound
    if not fingerprint or stored.details == ERASED_DETAILS or stored.external_id != own:
        return stored, inbound  # nothing to compare with (or erased: it stays erased)
    known = str(json_object(stored.details).get(FINGERPRINT_KEY, ""))
    same = known == fingerprint if known else _same_words(stored, inbound)
    if same:
        return stored, inbound
    return None, dataclasses.replace(
        inbound,
        external_id=derived,
        # The shared id names the other mail's thread: this one starts its own.
        thread_key=derived if inbound.thread_key == own else inbound.thread_key,
        references=tuple(r for r in inbound.references if r != own),
        details={**inbound.details, "duplicate_of": own},
    )
