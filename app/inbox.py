"""Ingesting inbound messages: the one way anything a visitor writes enters Concierge.

Idempotent: a message is keyed by ``(account, external id)``; the same one ingested twice (a
widget resending after a reconnect, a connector replaying after a crash) is stored once. The
events go out only after the transaction has committed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import (
    activity,
    auto_reply,
    db,
    message_insert,
    orm_reads,
    outage,
    recovery,
    repository,
    resolution,
    rule_ingest,
    spam,
)
from app.assignment import assign_waiting
from app.events import ConversationChanged, ConversationLeft, Event, MessageCreated
from app.inbound_identity import FINGERPRINT_KEY, already_stored, find_contact, fingerprint_of
from app.metrics import open_turn
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Destination,
    Direction,
    Message,
    RoutingDecision,
    StoredAttachment,
    ThreadRef,
)
from app.preview import preview
from app.routing import RouteDecision
from app.services import Services
from connectors.base import Channel, InboundMessage, IngestResult, MessageKind

log = logging.getLogger(__name__)


class UnknownAccountError(LookupError):
    pass


class ClosedAccountError(UnknownAccountError):
    """A chat message to a widget disabled (app.widget_closing) or removed (app.removal)
    meanwhile — or never there: refused, not stored; the visitor's socket is closed as on a
    closed chat. (A mailbox's or X account's connector is stopped instead; what it read
    before is kept.)"""


def _quote_start(inbound: InboundMessage) -> int | None:
    value = inbound.metadata.get("quote_start", "")
    return int(value) if value.isdigit() and 0 < int(value) < len(inbound.text) else None


def arrival(received_at: datetime, now: datetime, window: timedelta) -> datetime:
    """When a message counts as having reached us: the channel's arrival time, never later than
    now, and now when it is further back than ``window`` (a sender's or a device's clock, not an
    arrival: a mail dated 2002 that came today came today)."""
    if received_at > now or received_at < now - window:
        return now
    return received_at


def details_json(details: Mapping[str, Any], fingerprint: str = "") -> str:
    """A message's display details as stored: compact JSON, "" when there are none."""
    kept = dict(details)
    if fingerprint:  # what tells this mail from another with the same Message-ID (docs/api.md)
        kept[FINGERPRINT_KEY] = fingerprint
    if not kept:
        return ""
    # A connector's stray non-JSON value is kept as its text rather than losing the message.
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"), default=str)


def _media_url(url: str) -> str:
    """A media link as kept: only web addresses, so no ``javascript:`` link reaches a page."""
    url = url.strip()
    return url if url.lower().startswith(("https://", "http://")) and len(url) <= 1000 else ""


class Inbox:
    """The application's :class:`connectors.base.InboundSink`."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def ingest(self, message: InboundMessage, *, live: bool = False) -> IngestResult:
        """Stores ``message`` once and tells the browsers (``live``: it came over its chat
        visitor's open socket, so their widget is open: no presence look-up)."""
        for attempt in range(3):
            try:
                return await self._ingest_once(message, live)
            except IntegrityError:
                # Another worker stored the same message (or opened the same thread) meanwhile.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _ingest_once(self, inbound: InboundMessage, live: bool) -> IngestResult:
        services = self.services
        now = services.clock.now()
        at = arrival(
            inbound.received_at, now, timedelta(days=services.settings.arrival_window_days)
        )
        fingerprint = fingerprint_of(inbound)
        async with services.db.session(quick=True) as session:
            # No read below needs a row added here flushed first (those that need an id flush
            # for it): the changes go out together, in recovery.hold's one flush.
            session.autoflush = False
            account = await repository.account_for_ingest(session, inbound.account)
            if account is None or account.id is None:
                if inbound.channel == Channel.WEBCHAT:  # removed since the socket opened
                    raise ClosedAccountError(inbound.account)
                raise UnknownAccountError(inbound.account)
            if not account.active and account.channel == Channel.WEBCHAT:
                raise ClosedAccountError(inbound.account)
            # A different mail sharing a stored one's Message-ID comes back under an id of its own.
            existing, inbound = await already_stored(session, account.id, inbound)
            if existing is not None and existing.id is not None:
                return IngestResult(existing.conversation_id, existing.id, created=False)

            contact = await find_contact(session, account, inbound, services)
            conversation, decision = await _conversation(
                session, account, contact, inbound, services, at
            )
            opened = decision is not None
            reopened = False
            previous_office = conversation.office_id
            counts = inbound.kind == MessageKind.NORMAL
            lines = await spam.screen(services, session, account, contact, conversation, inbound)
            if (
                conversation.status == ConversationStatus.RESOLVED
                and counts
                and not conversation.spam
            ):
                conversation.status = ConversationStatus.OPEN
                resolution.on_reopened(conversation)
                reopened = True
                decision = await _reroute(session, account, conversation, services, at)
                # The visitor wrote again: no adviser reopened it.
                lines.append(activity.add(session, conversation.id or 0, "reopened", at))
            if counts and not conversation.spam:
                # Keyword rules (app.rule_ingest): before assignment; they route only a message
                # that opens or reopens the conversation.
                routed, ruled = await rule_ingest.apply(
                    session,
                    conversation,
                    inbound.subject,
                    inbound.text,
                    at,
                    route=decision is not None,
                )
                lines.extend(ruled)
                if routed is not None:
                    decision = _ruled(decision, routed)
                    if opened:  # nobody saw it in the office the rota chose
                        previous_office = conversation.office_id
            message = Message(
                conversation_id=conversation.id or 0,
                account_id=account.id,
                direction=Direction.IN,
                author_kind=AuthorKind.VISITOR,
                external_id=inbound.external_id,
                client_id=inbound.metadata.get("client_id", "")[:64],
                kind=inbound.kind,
                text=inbound.text,
                html=inbound.html,
                quote_start=_quote_start(inbound),
                created_at=at,
                sent_at=inbound.sent_at,
                details=details_json(inbound.details, fingerprint),
                delivery_status=DeliveryStatus.RECEIVED,
            )
            await message_insert.add(session, message)
            # Written on the connection: nothing reads it back in this unit of work.
            await db.plain_write(
                session,
                _ADD_REF,
                {
                    "account_id": account.id,
                    "ref": inbound.external_id,
                    "conversation_id": conversation.id or 0,
                },
            )
            files: list[StoredAttachment] = []  # listed in the live event (app.files)
            if inbound.attachments:
                for attachment in inbound.attachments:
                    files.append(
                        StoredAttachment(
                            message_id=message.id or 0,
                            filename=attachment.filename[:200],
                            content_type=attachment.content_type[:100],
                            size=attachment.size,
                            stored=attachment.data is not None,
                            data=attachment.data,
                            url=_media_url(attachment.url),
                        )
                    )
                    session.add(files[-1])
            conversation.last_message_at = max(conversation.last_message_at, at)
            # A file sent alone reads as its name in the lists.
            conversation.preview = preview(
                inbound.text or " ".join(a.filename for a in inbound.attachments)
            )
            if counts and not conversation.spam:  # spam waits for nobody (app.spam)
                conversation.unread += 1
                if conversation.waiting_since is None:
                    conversation.waiting_since = at
                    destination = await session.get(Destination, account.destination_id)
                    assert destination is not None
                    await open_turn(
                        session, conversation, destination, at, opened or reopened, new=opened
                    )
            session.add(conversation)
            # Committed with the message: its live events are owed until published (replayed
            # by app.recovery when Redis fails below), so no stored message goes unseen.
            await recovery.hold(session, message, account.destination_id)
            # The live event's line, read once flushed: no second session after the commit.
            view = await repository.conversation_out(session, conversation)
            await session.commit()
            assert message.id is not None and conversation.id is not None

        async with recovery.following(services, message.id):
            view = await repository.with_presence(services, view, conversation, account, live=live)
            audience = spam.audience_of(
                repository.audience(conversation, account), conversation, lines
            )
            events: list[Event] = []
            if previous_office != conversation.office_id:  # rerouted on reopening: nothing private
                events.append(
                    ConversationLeft(conversation_id=conversation.id, office_id=previous_office)
                )
            events.append(ConversationChanged(**audience, conversation=view))
            events.append(
                MessageCreated(
                    **audience, message=repository.message_out(message, contact.name, files)
                )
            )
            await services.hub.publish_many(account.destination_id, events)
            await activity.publish(services, conversation, account, lines)
        try:
            if conversation.assignee_id is None and conversation.status == ConversationStatus.OPEN:
                await assign_waiting(services, account.destination_id, conversation.office_id)
            if (
                decision is not None
                and decision.reason == "nobody_on_duty"
                and counts
                and not conversation.spam
            ):
                language = contact.language or services.settings.default_language
                await auto_reply.answer(
                    services, conversation, account, decision, language, inbound
                )
        except (RedisError, OSError) as exc:
            # The message is stored and owed its events: its sender gets the ack. The queue
            # sweep assigns it once Redis is back (the automatic reply is skipped then).
            if not outage.quiet(exc, "ingest"):
                raise
        if opened or reopened:
            log.info(
                "conversation %s %s on %s",
                conversation.id,
                "opened" if opened else "reopened",
                account.key,
            )
        return IngestResult(conversation.id, message.id, created=True)


_ADD_REF = insert(ThreadRef)
_BY_THREAD = select(Conversation).where(
    Conversation.account_id == bindparam("account_id"),
    Conversation.thread_key == bindparam("thread_key"),
)


async def _conversation(
    session: AsyncSession,
    account: Account,
    contact: Contact,
    inbound: InboundMessage,
    services: Services,
    at: datetime,
) -> tuple[Conversation, RouteDecision | None]:
    """The conversation this message joins (by references, then thread key), or a new one
    with the routing decision that placed it."""
    assert account.id is not None
    if inbound.references:
        refs = (
            await session.exec(
                select(ThreadRef).where(
                    ThreadRef.account_id == account.id,
                    col(ThreadRef.ref).in_(inbound.references),
                )
            )
        ).all()
        by_ref = {r.ref: r.conversation_id for r in refs}
        for ref in inbound.references:
            if ref in by_ref:
                found = await session.get(Conversation, by_ref[ref])
                if found is not None:
                    return found, None
    params = {"account_id": account.id, "thread_key": inbound.thread_key}
    threaded: list[Conversation] = await orm_reads.objects(session, _BY_THREAD, params)
    if threaded:
        return threaded[0], None
    decision = await _decide(session, account, services, at)
    conversation = Conversation(
        destination_id=account.destination_id,
        account_id=account.id,
        contact_id=contact.id or 0,
        office_id=decision.office_id,
        channel=inbound.channel,
        thread_key=inbound.thread_key[:512],
        subject=inbound.subject[:500],
        created_at=at,
        last_message_at=at,
    )
    session.add(conversation)
    await session.flush()
    # Replies quoting "[#C<id>]" in their subject find their conversation again.
    session.add(
        ThreadRef(
            account_id=account.id,
            ref=f"token:C{conversation.id}",
            conversation_id=conversation.id or 0,
        )
    )
    _record(session, conversation, decision, at)
    return conversation, decision


def _ruled(decision: RouteDecision | None, routed: rule_ingest.Routed) -> RouteDecision:
    """The routing decision once a rule sent the conversation elsewhere; with nobody on duty the
    visitor is still told when the rule's office answers next (its automatic reply)."""
    if decision is not None and decision.reason == "nobody_on_duty":
        return dataclasses.replace(decision, office_id=routed.office_id)
    return RouteDecision(routed.office_id, "rule", detail=routed.rule)


def _record(
    session: AsyncSession, conversation: Conversation, decision: RouteDecision, at: datetime
) -> None:
    conversation.routed_office_id = decision.office_id  # the rota's choice (app.handover)
    session.add(
        RoutingDecision(
            conversation_id=conversation.id or 0,
            office_id=decision.office_id,
            reason=decision.reason,
            detail=decision.detail,
            at=at,
        )
    )


async def _decide(
    session: AsyncSession, account: Account, services: Services, at: datetime
) -> RouteDecision:
    """Where a message that arrived ``at`` goes. One that arrived while nobody was on duty but
    is stored only after someone came back (a mailbox read after an outage) goes where it would
    go now: the queue and the automatic reply are about what is still to come."""
    decision = await services.router.decide(session, account, at)
    now = services.clock.now()
    if decision.next_answer_at is not None and decision.next_answer_at <= now:
        decision = await services.router.decide(session, account, now)
    return decision


async def _reroute(
    session: AsyncSession,
    account: Account,
    conversation: Conversation,
    services: Services,
    at: datetime,
) -> RouteDecision:
    """A reopened conversation goes to whoever answers now; its adviser keeps it if still there
    (and its office, when that one is among offices on duty together)."""
    decision = await _decide(session, account, services, at)
    if conversation.office_id in decision.on_duty:
        decision = dataclasses.replace(decision, office_id=conversation.office_id)
    if decision.office_id != conversation.office_id:
        conversation.office_id = decision.office_id
        conversation.assignee_id = None
    _record(session, conversation, decision, at)
    return decision
