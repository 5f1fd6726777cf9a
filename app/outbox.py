"""The outbox: replies wait in a Redis stream until their channel's connector has sent them.

Each worker runs one dispatcher in the consumer group ``senders``: a reply is taken by one
worker, sent, and acknowledged only once its outcome (sent, or failed after the last try) is
stored. A worker that dies mid-send leaves the entry pending; another claims it after a while.
Retries back off exponentially; the adviser sees "failed" with the reason after the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from email.utils import getaddresses
from typing import Any

from redis.exceptions import RedisError, ResponseError
from sqlalchemy import bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import keys, offline_mail, outage, repository
from app.connector_registry import ConfigurationError, connector_for
from app.db import plain_rows
from app.events import AudienceFields, MessageStatus
from app.models import (
    ERASED,
    Account,
    AuthorKind,
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    StoredAttachment,
    ThreadRef,
)
from app.relay_rows import Relay
from app.services import Services
from connectors.base import Attachment, Author, Channel, DeliveryResult, OutboundMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BASE_DELAY = timedelta(seconds=5)
CLAIM_IDLE_MS = 5_000
# Entries become claimable only after CLAIM_IDLE_MS: looking for them once a second is enough
# (not once per pass, which under a chat load is once per reply).
CLAIM_EVERY = 1.0
CLAIM_BATCH = 50
SEND_LOCK_MS = 120_000  # longer than any send takes; freed at once when it ends
REFERENCE_MESSAGES = 20  # the latest inbound messages a reply's References name


async def enqueue(services: Services, destination_id: int, message_id: int) -> None:
    await services.redis.xadd(keys.outbox(destination_id), {"m": str(message_id)})


def sent_status(audience: AudienceFields, message_id: int) -> MessageStatus:
    """The ``message.status`` of a reply sent as it was stored, without the outbox (a chat one,
    app.offline_mail.queued): every reply's outcome is announced, whoever sent it."""
    return MessageStatus(**audience, message_id=message_id, status=DeliveryStatus.SENT)


async def ensure_group(services: Services, destination_id: int) -> bool:
    """Makes the outbox's consumer group; True when it was missing (a new or emptied Redis)."""
    try:
        await services.redis.xgroup_create(
            keys.outbox(destination_id), keys.OUTBOX_GROUP, id="0", mkstream=True
        )
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        return False
    return True


async def requeue_pending(services: Services, destination_id: int) -> int:
    """Queues again every reply of the destination still pending in SQL: after Redis came back
    without its data, the outbox entries are gone but the replies are not. A reply queued twice
    is still sent once (the dispatcher's send lock and status check)."""
    async with services.db.session() as session:
        ids = (
            await session.exec(
                select(Message.id)
                .join(Account, col(Account.id) == col(Message.account_id))
                .where(
                    Account.destination_id == destination_id,
                    Message.direction == Direction.OUT,
                    Message.delivery_status == DeliveryStatus.PENDING,
                    # those still owed their follow-up are queued by app.recovery's replay
                    col(Message.id).not_in(select(Relay.message_id)),
                )
                .order_by(col(Message.id))
            )
        ).all()
    for message_id in ids:
        if message_id is not None:
            await enqueue(services, destination_id, message_id)
    if ids:
        log.warning("outbox of destination %s was empty: %s pending replies queued again",
                    destination_id, len(ids))  # fmt: skip
    return len(ids)


def backoff(attempts: int) -> timedelta:
    factor: int = 2 ** max(0, attempts - 1)
    return BASE_DELAY * factor


# A reply with what sending it needs, in one statement (app.outbox.Dispatcher._attempt)…
_TO_SEND = (
    select(Message, Conversation, Account, Contact)
    .join(Conversation, col(Conversation.id) == Message.conversation_id)
    .join(Account, col(Account.id) == Conversation.account_id)
    .join(Contact, col(Contact.id) == Conversation.contact_id)
    .where(Message.id == bindparam("id"))
)
# …and, once sent, who hears of the outcome: the reply's conversation as it is now.
_AUDIENCE = (
    select(
        Conversation.id, Conversation.office_id, Conversation.assignee_id, Conversation.thread_key
    )
    .join(Message, col(Message.conversation_id) == Conversation.id)
    .where(Message.id == bindparam("id"))
)
_RECORD = update(Message).where(col(Message.id) == bindparam("message_id"))


class Dispatcher:
    def __init__(self, services: Services, destination_id: int, consumer: str) -> None:
        self.grouped = False
        self.services = services
        self.destination_id = destination_id
        self.consumer = consumer
        self.attempts: dict[int, int] = {}
        self.not_before: dict[int, float] = {}
        self.next_claim = 0.0  # the event loop's time of the next look for claimable entries

    async def run(self) -> None:
        """Forever: claims what a dead worker left, reads what is new, sends each entry.

        A Redis outage is said once (app.outage) and waited out with backoff; the entries of
        the pass it interrupted stay pending and are claimed again once Redis is back."""
        failures = 0
        while True:
            try:
                await self._pass()
                failures = 0
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    # Redis lost the stream (restarted without its data): make the group again
                    # and queue again what SQL says is still pending.
                    log.warning("outbox consumer group missing; creating it again")
                    self.grouped = False
                    continue
                failures += 1
                log.exception("outbox pass failed; retrying")
                await outage.pause(failures)
            except Exception as exc:
                failures += 1
                if not outage.quiet(exc, "outbox"):
                    log.exception("outbox pass failed; retrying")
                await outage.pause(failures)

    async def _pass(self) -> None:
        stream = keys.outbox(self.destination_id)
        redis = self.services.redis
        if not self.grouped:
            if await ensure_group(self.services, self.destination_id):
                await requeue_pending(self.services, self.destination_id)
            self.grouped = True
        entries: list[Any] = []
        now = asyncio.get_running_loop().time()
        if now >= self.next_claim:
            claim: Any = await redis.xautoclaim(
                stream, keys.OUTBOX_GROUP, self.consumer, CLAIM_IDLE_MS, "0-0", count=CLAIM_BATCH
            )
            entries.extend(claim[1])
            # A full batch (a dead worker's backlog): the rest at the next pass.
            self.next_claim = now + (CLAIM_EVERY if len(claim[1]) < CLAIM_BATCH else 0.0)
        fresh: Any = await redis.xreadgroup(
            keys.OUTBOX_GROUP, self.consumer, {stream: ">"}, count=50, block=1000
        )
        for _stream, rows in fresh or []:
            entries.extend(rows)
        for entry_id, fields in entries:
            raw = fields.get(b"m") or fields.get("m")
            try:
                done = await self._handle(int(raw)) if raw is not None else True
            except Exception as exc:  # left pending: claimed and tried again after a while
                if outage.quiet(exc, "outbox"):
                    raise  # the rest of the pass would fail alike: wait for Redis
                log.exception("outbox entry %s failed; it stays queued", entry_id)
                continue
            if done:
                await redis.xack(stream, keys.OUTBOX_GROUP, entry_id)

    async def _handle(self, message_id: int) -> bool:
        """Tries one send; True when the entry is finished (sent, failed for good, or gone).

        One worker at a time sends a given reply (a short Redis lock): a reply queued twice —
        replayed after an outage, or claimed from a slow worker — is still sent once."""
        loop = asyncio.get_running_loop()
        if loop.time() < self.not_before.get(message_id, 0.0):
            return False  # backing off: stays pending, claimed again later
        lock = keys.sending(self.destination_id, message_id)
        redis = self.services.redis
        if not await redis.set(lock, self.consumer, nx=True, px=SEND_LOCK_MS):
            return False  # another worker is sending it: its outcome decides
        try:
            return await self._attempt(message_id, loop)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await redis.delete(lock)

    async def _attempt(self, message_id: int, loop: asyncio.AbstractEventLoop) -> bool:
        async with self.services.db.session(quick=True) as session:
            found = (await session.exec(_TO_SEND, params={"id": message_id})).first()
            if found is None:  # not stored (rows are never deleted, so never joined to nothing)
                return True
            message, conversation, account, contact = found
            if message.delivery_status != DeliveryStatus.PENDING:
                # Done already (an entry queued twice, or one whose outcome was stored but not
                # announced before Redis failed): say the outcome again, harmlessly.
                await self._announce(message, conversation, account)
                return True
            outbound = await _outbound(session, message, conversation, account, contact)
        # A chat reply to a visitor who left an address and has gone goes by e-mail (app.offline).
        mailed = None
        if account.channel == Channel.WEBCHAT:
            mailed = await offline_mail.deliver(self.services, message, conversation)
        try:
            connector = None if mailed is not None else connector_for(self.services, account)
        except ConfigurationError as exc:
            connector = None
            log.warning("account %s cannot send: %s", account.key, exc)
        if mailed is not None:
            result = mailed
        elif connector is None:
            result = DeliveryResult.failed(
                "no_connector", "no connector running for this account", retryable=True
            )
        else:
            try:
                result = await connector.send(outbound)
            except Exception as exc:  # a connector bug must not lose the reply
                log.exception("connector %s failed to send message %s", account.key, message_id)
                result = DeliveryResult.failed(
                    "crashed",
                    f"send failed: {type(exc).__name__}",
                    retryable=True,
                    detail=type(exc).__name__,
                )
        attempts = self.attempts.get(message_id, 0) + 1
        self.attempts[message_id] = attempts
        if not result.ok and result.retryable and attempts < MAX_ATTEMPTS:
            self.not_before[message_id] = loop.time() + backoff(attempts).total_seconds()
            log.info("message %s not sent (attempt %s): %s", message_id, attempts, result.error)
            return False
        await self._record(message_id, result, account)
        self.attempts.pop(message_id, None)
        self.not_before.pop(message_id, None)
        return True

    async def _record(
        self,
        message_id: int,
        result: DeliveryResult,
        account: Account,
    ) -> None:
        """Stores the outcome of sending ``message_id`` on ``account`` (as read before the
        send); its conversation is read again for the announcement's audience, which may have
        changed while the reply was out (an e-mail or X send takes seconds). Written past the
        ORM: a few columns of one row (nothing the search index keeps), and its thread refs."""
        # A failure always carries a code: a connector that gave none is "unknown", so the
        # browser still says something in the adviser's language (and ``error`` in detail).
        code, params = _coded(result)
        outcome: dict[str, Any] = {
            "delivery_status": DeliveryStatus.SENT if result.ok else DeliveryStatus.FAILED,
            "delivery_error": "" if result.ok else result.error[:500],
            "delivery_code": code,
            "delivery_params": json.dumps(params) if params else "",
        }
        if result.external_ids:
            outcome["external_id"] = result.external_ids[0]
        async with self.services.db.session(quick=True) as session:
            # Rows are never deleted, nor messages moved to another conversation.
            current = (await plain_rows(session, _AUDIENCE, {"id": message_id}))[0]
            connection = await session.connection()
            await connection.execute(_RECORD.values(**outcome), {"message_id": message_id})
            if result.external_ids:
                await connection.execute(
                    insert(ThreadRef),
                    [
                        {"account_id": account.id, "ref": ref, "conversation_id": current.id}
                        for ref in result.external_ids
                    ],
                )
            await session.commit()
        await self._say(account, repository.audience(current, account), message_id, outcome)

    async def _announce(
        self, message: Message, conversation: Conversation, account: Account
    ) -> None:
        """Publishes the reply's stored outcome (sent, failed with its code, pending)."""
        assert message.id is not None
        outcome = {
            "delivery_status": message.delivery_status,
            "delivery_error": message.delivery_error,
            "delivery_code": message.delivery_code,
            "delivery_params": message.delivery_params,
        }
        await self._say(account, repository.audience(conversation, account), message.id, outcome)

    async def _say(
        self,
        account: Account,
        audience: AudienceFields,
        message_id: int,
        outcome: Mapping[str, Any],
    ) -> None:
        params: dict[str, str] = json.loads(outcome["delivery_params"] or "{}")
        await self.services.hub.publish(
            account.destination_id,
            MessageStatus(
                **audience,
                message_id=message_id,
                status=outcome["delivery_status"],
                error=outcome["delivery_error"],
                code=outcome["delivery_code"],
                params=params,
            ),
        )


def _coded(result: DeliveryResult) -> tuple[str, dict[str, str]]:
    """The code and parameters stored for ``result``: none when it was sent."""
    if result.ok:
        return "", {}
    if not result.code:
        return "unknown", {"detail": result.error[:300]}
    if len(result.code) > 64:  # the column's size; a code that long is a connector's bug
        return "unknown", {"detail": result.error[:300]}
    return result.code, {str(k): str(v)[:300] for k, v in result.params.items()}


async def _outbound(
    session: AsyncSession,
    message: Message,
    conversation: Conversation,
    account: Account,
    contact: Contact,
) -> OutboundMessage:
    # The latest inbound messages only (newest first), their ids and details alone: a long
    # conversation's every message (texts, mail HTML) is not read again for each reply. Mailers
    # trim References alike (RFC 5322 3.6.4 lets the middle go); In-Reply-To is the latest.
    # A chat reply refers to nothing: the visitor's socket is the thread.
    inbound: Sequence[tuple[str | None, str, str]] = []
    if conversation.channel != Channel.WEBCHAT:
        inbound = (
            await session.exec(
                select(Message.external_id, Message.details, Message.author_kind)
                .where(Message.conversation_id == conversation.id, Message.direction == "in")
                .order_by(col(Message.created_at).desc(), col(Message.id).desc())
                .limit(REFERENCE_MESSAGES)
            )
        ).all()
    # A mail stored apart under a derived id (its Message-ID was another's) is known to its
    # sender's mailer by the shared Message-ID: that is what a reply refers to.
    refs = tuple(
        dict.fromkeys(
            _sent_id(external_id, details)
            for external_id, details, _kind in reversed(inbound)
            if external_id and not _erased(external_id)
        )
    )
    latest = next((d for _id, d, kind in inbound if kind == AuthorKind.VISITOR), None)
    if latest is None and conversation.channel == Channel.EMAIL:  # only older ones: look further
        latest = (
            await session.exec(
                select(Message.details)
                .where(
                    Message.conversation_id == conversation.id,
                    Message.direction == "in",
                    Message.author_kind == AuthorKind.VISITOR,
                )
                .order_by(col(Message.created_at).desc(), col(Message.id).desc())
                .limit(1)
            )
        ).first()
    return OutboundMessage(
        channel=Channel(conversation.channel),
        account=account.key,
        conversation_id=conversation.id or 0,
        message_id=message.id or 0,
        thread_key=conversation.thread_key,
        recipient=reply_recipient(conversation.channel, contact, latest or ""),
        text=message.text,
        subject=conversation.subject,
        reply_to_external_id=refs[-1] if refs else "",
        references=refs,
        metadata={
            "token": f"C{conversation.id}",
            "auto": "1" if message.author_kind == AuthorKind.SYSTEM else "",
            "split": "1" if message.split_thread else "",
        },
        attachments=await _files(session, message.id or 0),
    )


_FILES = select(StoredAttachment).where(StoredAttachment.message_id == bindparam("m"))


async def _files(session: AsyncSession, message_id: int) -> tuple[Attachment, ...]:
    """An adviser's files sent with the reply (app.files), contents included."""
    rows = await plain_rows(session, _FILES, {"m": message_id})
    return tuple(
        Attachment(a.filename, a.content_type, a.size, a.data) for a in rows if a.data is not None
    )


def _erased(external_id: str) -> bool:
    return external_id.startswith(ERASED)


def _sent_id(external_id: str, details: str) -> str:
    shared = repository.json_object(details).get("duplicate_of")
    return shared if isinstance(shared, str) and shared else external_id


def reply_recipient(channel: str, contact: Contact, details: str) -> Author:
    """Who a reply goes to: on e-mail the ``Reply-To`` of the visitor's latest mail when it
    named a usable address (a web form's ``no-reply@`` sender cannot be answered), with its
    display name or, for the contact's own address, the contact's name; else the contact."""
    own = Author(external_id=contact.external_id, name=contact.name, handle=contact.handle)
    if channel != Channel.EMAIL:
        return own
    value = repository.json_object(details).get("reply_to")
    if not isinstance(value, str) or not value.strip():
        return own
    for name, address in getaddresses([value]):
        local, at, domain = address.strip().rpartition("@")
        if not (at and local and domain) or any(c.isspace() for c in address.strip()):
            continue  # not an address a mail can be sent to: the next one, else the contact
        address = address.strip()
        if not name and address.lower() in (contact.handle.lower(), contact.external_id.lower()):
            name = contact.name
        return Author(external_id=address.lower(), name=" ".join(name.split()), handle=address)
    return own
