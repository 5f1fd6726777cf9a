"""Never silent: a visitor told who will answer and when when nobody is online, offered to leave
an address, and answered by e-mail once they have gone (``Conversation.reply_email``).

The notice is due for a chat conversation waiting for an answer (open, unassigned, a visitor
message unanswered since ``waiting_since``) when nobody is on duty (at once), or when nobody of
the office holding it is online and it has waited ``offline_notice_seconds``. Every worker looks
once a second (:func:`keep_noticing`); a Redis key per waiting period lets one of them publish it,
once. The notice is a stored :class:`app.events.VisitorFrame` (``{"type": "offline"}``), so a
reload or a resumed socket still shows it, and the ``hello`` frame says the same
(:func:`hello_fields`).

Replies go by e-mail from "the office's mailbox" (:func:`mailbox_for`): the active e-mail
account of the conversation's office, else the destination's first active e-mail account.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import outage, presence, repository, visitor_queue
from app.events import VisitorFrame
from app.i18n import gettext
from app.models import (
    Account,
    Contact,
    Conversation,
    ConversationStatus,
    Destination,
    Office,
    User,
)
from app.routing import RouteDecision
from app.services import Services
from app.timefmt import human_when

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0  # how often each worker looks for a due notice (the figure's resolution)
NOTICE_KEEP = 7 * 24 * 3600  # a waiting period's "told already" key outlives any wait


async def mailbox_for(session: AsyncSession, destination_id: int, office_id: int) -> Account | None:
    """The mailbox a reply to a gone chat visitor is sent from: the office's active e-mail
    account (the lowest id), else the destination's first one; None without any."""
    rows = (
        await session.exec(
            select(Account)
            .where(
                Account.destination_id == destination_id,
                Account.channel == "email",
                col(Account.active).is_(True),
            )
            .order_by(col(Account.id))
        )
    ).all()
    return next((a for a in rows if a.office_id == office_id), rows[0] if rows else None)


def masked(address: str) -> str:
    """``jane.doe@example.org`` → ``j…@example.org``: enough for the visitor to recognise it."""
    local, at, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}" if at else ""


def _waiting(conversation: Conversation) -> bool:
    return (
        conversation.status == ConversationStatus.OPEN
        and conversation.assignee_id is None
        and conversation.waiting_since is not None
        and not conversation.spam
    )


async def _office_online(services: Services, session: AsyncSession, office: Office) -> bool:
    """Whether someone of ``office`` is online and not away now."""
    ids = await presence.available(services, office.destination_id, services.clock.now())
    if not ids:
        return False
    found = await session.exec(
        select(User.id).where(
            col(User.id).in_(ids), User.office_id == office.id, col(User.active).is_(True)
        )
    )
    return found.first() is not None


class Memo:
    """What one look at many conversations reads once: each account's routing decision and
    whether each office has someone online (a backlog costs a few reads, not a few per row)."""

    def __init__(self) -> None:
        self.decisions: dict[int, RouteDecision] = {}
        self.online: dict[int, bool] = {}


async def notice(
    services: Services,
    session: AsyncSession,
    account: Account,
    conversation: Conversation | None,
    lang: str,
    now: datetime,
    memo: Memo | None = None,
) -> str | None:
    """The notice's text in ``lang`` if it is due now for this visitor, else None."""
    memo = memo or Memo()
    decision = memo.decisions.get(account.id or 0)
    if decision is None:
        decision = await services.router.decide(session, account, now)
        memo.decisions[account.id or 0] = decision
    destination = await session.get(Destination, account.destination_id)
    if decision.reason == "nobody_on_duty":
        office = await session.get(Office, decision.office_id)
        name = office.name if office else ""
        if decision.next_answer_at is None or destination is None:
            return gettext(lang, "widget.offline.later_unknown", office=name)
        when = human_when(decision.next_answer_at, now, destination.timezone, lang)
        return gettext(lang, "widget.offline.later", office=name, when=when)
    if conversation is None or not _waiting(conversation):
        return None
    assert conversation.waiting_since is not None
    delay = timedelta(seconds=services.settings.offline_notice_seconds)
    if now - conversation.waiting_since < delay:
        return None
    office = await session.get(Office, conversation.office_id)
    if office is None:
        return None
    key = office.id or 0
    if key not in memo.online:
        memo.online[key] = await _office_online(services, session, office)
    if memo.online[key]:
        return None
    return gettext(lang, "widget.offline.soon", office=office.name)


async def _frame(
    services: Services,
    session: AsyncSession,
    account: Account,
    conversation: Conversation | None,
    lang: str,
) -> dict[str, Any]:
    """The ``offline`` object of the hello frame and of the ``offline`` frame."""
    text = await notice(services, session, account, conversation, lang, services.clock.now())
    office_id = conversation.office_id if conversation else account.office_id
    mailbox = await mailbox_for(session, account.destination_id, office_id)
    email = conversation.reply_email if conversation else ""
    return {
        "show": text is not None,
        "text": text or "",
        "can_leave": mailbox is not None,  # no mailbox: no address is asked for at all
        "has_conversation": conversation is not None,
        "email": masked(email) if email else "",
    }


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``offline``)."""
    conversation = await visitor_queue.conversation_of(session, account, visitor_id)
    return {"offline": await _frame(services, session, account, conversation, lang)}


async def frame_for(
    services: Services, session: AsyncSession, account: Account, conversation: Conversation
) -> dict[str, Any]:
    """The ``offline`` frame for the visitor of ``conversation`` (in their language)."""
    contact = await session.get(Contact, conversation.contact_id)
    lang = (contact.language if contact else "") or services.settings.default_language
    return {"type": "offline", **await _frame(services, session, account, conversation, lang)}


async def send_frame(services: Services, conversation: Conversation, account: Account) -> None:
    """Publishes the visitor's ``offline`` frame (stored: a reload still shows it)."""
    async with services.db.session() as session:
        frame = await frame_for(services, session, account, conversation)
    await services.hub.publish(
        account.destination_id,
        VisitorFrame(**repository.audience(conversation, account), frame=frame),
    )


async def notice_pass(services: Services) -> int:
    """Publishes each notice due now and not told yet in this waiting period; how many."""
    now = services.clock.now()
    told = 0
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(Conversation).where(
                    Conversation.channel == "webchat",
                    Conversation.status == ConversationStatus.OPEN,
                    col(Conversation.assignee_id).is_(None),
                    col(Conversation.waiting_since).is_not(None),
                    col(Conversation.spam).is_(False),
                )
            )
        ).all()
        accounts = await repository.cached_by_id(session, Account, {c.account_id for c in rows})
        memo = Memo()
        for conversation in rows:
            account = accounts.get(conversation.account_id)
            if account is None or conversation.id is None or conversation.waiting_since is None:
                continue
            if await notice(services, session, account, conversation, "en", now, memo) is None:
                continue
            since = int(conversation.waiting_since.timestamp())
            key = f"offline:notice:{conversation.id}:{since}"
            # One worker, once per waiting period: a new visitor message after an answer starts
            # another period (and another notice if nobody is there again).
            if not await services.redis.set(key, "1", nx=True, ex=NOTICE_KEEP):
                continue
            await send_frame(services, conversation, account)
            told += 1
    return told


async def keep_noticing(services: Services) -> None:
    """Every worker, every second: the notices due (app.main's lifespan runs it)."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await notice_pass(services)
        except Exception as exc:  # must outlive a passing database or Redis error
            if not outage.quiet(exc, "offline notice"):
                log.exception("offline notice pass failed")


async def accounts_context(
    services: Services, session: AsyncSession, accounts: list[Account], lang: str
) -> dict[str, Any]:
    """What ``templates/accounts/_mailbox_notice.html`` needs on the /accounts page: the chat
    widgets whose replies to gone visitors cannot be e-mailed (no mailbox for their office nor
    their destination)."""
    without: list[dict[str, str]] = []
    for account in accounts:
        if account.channel != "webchat" or not account.active:
            continue
        if await mailbox_for(session, account.destination_id, account.office_id) is None:
            office = await session.get(Office, account.office_id)
            without.append({"name": account.name, "office": office.name if office else ""})
    return {"mailbox_missing": without}
