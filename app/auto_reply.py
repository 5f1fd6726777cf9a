"""Automatic replies: what a visitor who writes while nobody is on duty is told, and when.

Never counted as a response. At most one per contact and account every few hours, so two
robots can never keep answering each other (RFC 3834), and never one to a robot at all: a
bounce, an out-of-office, a list, a mail without Message-ID or an address only machines write
from. Each account says whether its conversations get one (``Account.auto_reply``, edited on
/accounts): on X public mentions are off unless a manager turns them on, since the reply would
be a public tweet; direct messages, chats and mails are on. A manager may write the text per
language, with ``{office}`` and ``{when}``; otherwise the catalog's text is sent.
"""

from __future__ import annotations

import logging
import re
import string
from email.utils import parseaddr
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from app import activity, keys, offline_mail, recovery, repository
from app.events import Event, MessageCreated
from app.i18n import LANGUAGES, gettext
from app.models import (
    Account,
    AuthorKind,
    Conversation,
    DeliveryStatus,
    Destination,
    Direction,
    Message,
    Office,
)
from app.outbox import enqueue, sent_status
from app.routing import RouteDecision
from app.services import Services
from app.timefmt import human_when
from connectors.base import Channel, InboundMessage, MessageKind

log = logging.getLogger(__name__)

AUTO_REPLY_EVERY = 4 * 3600  # seconds between two automatic replies to one contact
MAX_TEXT = 500  # characters of a manager's own text, before its placeholders are filled
# On X the same text may go out as a public tweet (280 weighted characters): room is left for
# the office's name and the time that fill the placeholders.
MAX_TEXT_X = 200
PLACEHOLDERS = frozenset({"office", "when"})

# Addresses only machines write from (RFC 3834 §2, RFC 2142, list managers' conventions). Matched
# on the local part, case-insensitively; an empty address ("MAILER-DAEMON <>") is a robot too.
_ROBOT_LOCAL = re.compile(
    r"""^(?:
        mailer-daemon|mailerdaemon|postmaster|listserv|majordomo|mailman|ezmlm|
        (?:do[-_.]?)?not?[-_.]?reply(?:[-_.+].*)?|
        ne[-_.]?pas[-_.]?r[eé]pondre(?:[-_.+].*)?|
        bounces?(?:[-_.+].*)?|
        owner-.+|.+-owner|.+-request|.+-bounces?|.+[+]bounces?(?:[-_.+].*)?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


class AutoReplyPolicy(BaseModel):
    """One account's choice, as stored in ``Account.auto_reply`` (JSON)."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool = True  # chats, mails, X direct messages
    public: bool = False  # X public mentions (the reply is a public tweet): off by default
    texts: dict[str, str] = {}  # the manager's own text per language ("" = the catalog's)


class PolicyError(ValueError):
    """A manager's automatic-reply settings refused: ``code`` and ``params`` for the catalog."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def policy_of(account: Account) -> AutoReplyPolicy:
    """The account's stored choice; the channel's defaults when none (or unreadable)."""
    if not account.auto_reply:
        return AutoReplyPolicy()
    try:
        return AutoReplyPolicy.model_validate_json(account.auto_reply)
    except ValidationError:
        log.warning("account %s: unreadable automatic-reply settings, defaults used", account.key)
        return AutoReplyPolicy()


def max_text(account: Account) -> int:
    """How long a manager's text may be on this account's channel."""
    return MAX_TEXT_X if account.channel == Channel.TWITTER else MAX_TEXT


def check_text(text: str, limit: int = MAX_TEXT) -> str:
    """A manager's text, checked: only ``{office}`` and ``{when}``, balanced braces, short."""
    text = text.replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise PolicyError("auto_reply.too_long", max=str(limit))
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        raise PolicyError("auto_reply.bad_braces") from None
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = (
                "{"
                + name
                + ("!" + conversion if conversion else "")
                + (":" + spec if spec else "")
                + "}"
            )
            raise PolicyError("auto_reply.unknown_placeholder", name=shown[:60])
    return text


def check_policy(enabled: bool, public: bool, texts: dict[str, str], limit: int = MAX_TEXT) -> str:
    """The JSON to store for a manager's choice; raises PolicyError on a bad text."""
    checked = {lang: check_text(texts.get(lang, ""), limit) for lang in LANGUAGES}
    policy = AutoReplyPolicy(
        enabled=enabled, public=public, texts={k: v for k, v in checked.items() if v}
    )
    return policy.model_dump_json()


def applies(policy: AutoReplyPolicy, account: Account, conversation: Conversation) -> bool:
    """Whether this conversation gets an automatic reply under the account's choice."""
    if account.channel == Channel.TWITTER and not conversation.thread_key.startswith("dm:"):
        return policy.public
    return policy.enabled


def robot_address(address: str) -> bool:
    """An address only machines write from (MAILER-DAEMON, postmaster, *-request, noreply…),
    or no address at all ("MAILER-DAEMON <>"): nothing a person would read an answer at."""
    _name, parsed = parseaddr(address)
    local, at, domain = parsed.strip().rpartition("@")
    if not at or not local or not domain:
        return True
    return bool(_ROBOT_LOCAL.match(local.strip('"')))


def from_robot(inbound: InboundMessage) -> bool:
    """A message no automatic reply may answer: robots, lists, mails without Message-ID."""
    if inbound.kind != MessageKind.NORMAL or inbound.metadata.get("auto_reply") == "no":
        return True
    if inbound.channel != Channel.EMAIL:
        return False
    # The reply goes to Reply-To when there is one (a web form's no-reply@ for a visitor).
    reply_to = inbound.details.get("reply_to")
    target = reply_to if isinstance(reply_to, str) and reply_to else ""
    return robot_address(target or inbound.author.handle or inbound.author.external_id)


def compose(policy: AutoReplyPolicy, language: str, office: str, when: str | None) -> str:
    """The reply's text: the manager's own for this language, else the catalog's."""
    own = policy.texts.get(language, "")
    if own:
        filled: dict[str, Any] = {
            "office": office,
            "when": when if when is not None else gettext(language, "auto_reply.when_unknown"),
        }
        try:
            # Checked again: a text written to the database by other means must not reach
            # str.format with anything but the two placeholders (no attribute lookups).
            return check_text(own, limit=len(own)).format(**filled)
        except PolicyError:
            log.warning("an automatic-reply text could not be filled; the catalog's was sent")
    if when is not None:
        return gettext(language, "auto.nobody_on_duty", office=office, when=when)
    return gettext(language, "auto.nobody_at_all")


async def answer(
    services: Services,
    conversation: Conversation,
    account: Account,
    decision: RouteDecision,
    language: str,
    inbound: InboundMessage,
) -> None:
    """Tells the visitor when an answer can be expected. Never counts as a response.

    At most one per contact and account every few hours, so two robots can never keep
    answering each other (RFC 3834)."""
    if from_robot(inbound):
        return
    policy = policy_of(account)
    if not applies(policy, account, conversation):
        return
    language = language.split("-")[0].lower()  # a contact's "fr-CA" reads French
    if language not in LANGUAGES:
        language = services.settings.default_language
    fresh = await services.redis.set(
        keys.auto_reply(account.destination_id, account.key, conversation.contact_id),
        "1",
        nx=True,
        ex=AUTO_REPLY_EVERY,
    )
    if not fresh:
        return
    # Point reads and one short write, on the chat's path (a night's first messages): quick.
    async with services.db.session(quick=True) as session:
        destination = await session.get(Destination, account.destination_id)
        # The office's name, as the lists show it (kept a short while by each worker).
        offices = await repository.cached_by_id(session, Office, {conversation.office_id})
        office = offices.get(conversation.office_id)
        assert destination is not None and office is not None
        now = services.clock.now()
        when = (
            human_when(decision.next_answer_at, now, destination.timezone, language)
            if decision.next_answer_at is not None
            else None
        )
        text = compose(policy, language, office.name, when)
        queued = offline_mail.queued(account, conversation, AuthorKind.SYSTEM)
        message = Message(
            conversation_id=conversation.id or 0,
            account_id=account.id or 0,
            direction=Direction.OUT,
            author_kind=AuthorKind.SYSTEM,
            kind="auto_reply",
            text=text,
            created_at=now,
            delivery_status=DeliveryStatus.PENDING if queued else DeliveryStatus.SENT,
        )
        session.add(message)
        await session.flush()
        line = activity.add(
            session,
            conversation.id or 0,
            "auto_reply",
            now,
            office_id=conversation.office_id,
            message_id=message.id,
        )
        await recovery.hold(session, message, account.destination_id)
        await session.commit()
    assert message.id is not None
    async with recovery.following(services, message.id):
        audience = repository.audience(conversation, account)
        events: list[Event] = [MessageCreated(**audience, message=repository.message_out(message))]
        if not queued:
            events.append(sent_status(audience, message.id))
        await services.hub.publish_many(account.destination_id, events)
        await activity.publish(services, conversation, account, [line])
        if queued:
            await enqueue(services, account.destination_id, message.id)
