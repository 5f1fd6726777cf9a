"""Visitors' data: a copy on request, erasure on request, and erasure after the retention period.

Erasing a conversation keeps its skeleton — ids, times, account, office, status — so response-time
figures never change, and removes everything a visitor wrote or that could identify them: message
texts and HTML, subjects, previews, attachments, routing notes, the thread references, the
visitor's name, handle and address, and the live events that carried their words. Message ids
from the channel are kept only as a one-way hash, so a mail or tweet read again is recognised
and never brought back.

Managers act on a visitor through a conversation they may see: an office manager reaches the
conversations of their office, a destination manager every conversation of that visitor.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, audit, contacts, keys, repository
from app.actions import ActionError, check_conversation
from app.events import ConversationChanged
from app.models import (
    ERASED,
    ERASED_DETAILS,
    Account,
    Activity,
    Contact,
    ContactEvent,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
    Quarantine,
    Role,
    RoutingDecision,
    StoredAttachment,
    ThreadRef,
    User,
    erased_id,
)

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
SWEEP_SECONDS = 3600.0
LEASE_SECONDS = 600
MANAGERS = (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)


def is_erased(conversation: Conversation) -> bool:
    return conversation.thread_key.startswith(ERASED)


async def _visitor_conversations(
    session: AsyncSession, user: User, conversation_id: int
) -> tuple[Contact, list[Conversation]]:
    """The visitor behind a conversation ``user`` may see, and their conversations ``user``
    may see (404 for a conversation out of reach, 403 for an adviser)."""
    loaded = await check_conversation(session, user, conversation_id)
    if user.role not in MANAGERS:
        raise ActionError("error.privacy_managers_only", 403)
    contact = await session.get(Contact, loaded.conversation.contact_id)
    assert contact is not None
    # The whole merged profile: every identity of the visitor (app.contacts).
    ids = [c.id for c in await _profile(session, contact)]
    found = (
        await session.exec(
            select(Conversation)
            .where(col(Conversation.contact_id).in_(ids), repository.visible_filter(user))
            .order_by(col(Conversation.created_at), col(Conversation.id))
        )
    ).all()
    return contact, list(found)


async def _profile(session: AsyncSession, contact: Contact) -> list[Contact]:
    """The contacts of ``contact``'s profile (merged identities), its root first."""
    root = await contacts.root_of(session, contact.destination_id, contact.id or 0)
    return await contacts.members(session, root or contact)


async def _profile_export(session: AsyncSession, contact: Contact) -> dict[str, Any]:
    """Every identity of the visitor's profile and the history of its corrections and merges."""
    profile = await _profile(session, contact)
    events = (
        await session.exec(
            select(ContactEvent)
            .where(col(ContactEvent.contact_id).in_([c.id for c in profile]))
            .order_by(col(ContactEvent.at), col(ContactEvent.id))
        )
    ).all()
    return {
        "identities": [
            {"channel": c.channel, "address": c.external_id, "name": c.name, "handle": c.handle,
             "email": c.email, "language": c.language, "first_seen": c.created_at.isoformat(),
             "channel_profile": repository.json_object(c.profile)}
            for c in profile
        ],
        "corrections": [
            {"kind": e.kind, "field": e.field, "old_value": e.old_value,
             "new_value": e.new_value, "at": e.at.isoformat()}
            for e in events
        ],
    }  # fmt: skip


async def export_visitor(services: Services, user: User, conversation_id: int) -> dict[str, Any]:
    """Everything kept about the visitor behind a conversation, as far as ``user`` may see."""
    async with services.db.session() as session:
        contact, conversations = await _visitor_conversations(session, user, conversation_id)
        profile = await _profile_export(session, contact)
        accounts = {
            a.id: a
            for a in (
                await session.exec(
                    select(Account).where(Account.destination_id == user.destination_id)
                )
            ).all()
        }
        ids = [c.id for c in conversations]
        messages = (
            await session.exec(
                select(Message)
                .where(col(Message.conversation_id).in_(ids))
                .order_by(col(Message.created_at), col(Message.id))
            )
        ).all()
        files = (
            await session.exec(
                select(StoredAttachment).where(
                    col(StoredAttachment.message_id).in_([m.id for m in messages])
                )
            )
        ).all()
    by_message: dict[int, list[dict[str, Any]]] = {}
    for file in files:
        by_message.setdefault(file.message_id, []).append(
            {"filename": file.filename, "content_type": file.content_type, "size": file.size}
        )
    by_conversation: dict[int, list[dict[str, Any]]] = {}
    for message in messages:
        by_conversation.setdefault(message.conversation_id, []).append(
            {
                "at": message.created_at.isoformat(),
                "from": "visitor" if message.author_kind == "visitor" else "tourist office",
                "text": message.text,
                "attachments": by_message.get(message.id or 0, []),
            }
        )
    return {
        "exported_at": services.clock.now().isoformat(),
        "visitor": {
            "channel": contact.channel,
            "address": contact.external_id,
            "name": contact.name,
            "handle": contact.handle,
            "language": contact.language,
            "first_seen": contact.created_at.isoformat(),
        },
        **profile,
        "conversations": [
            {
                "id": c.id,
                "account": accounts[c.account_id].name if c.account_id in accounts else "",
                "channel": c.channel,
                "subject": c.subject,
                "status": str(c.status),
                "started": c.created_at.isoformat(),
                "last_message": c.last_message_at.isoformat(),
                "ip_address": c.visitor_ip,  # a chat's last connection, kept to stop abuse
                "messages": by_conversation.get(c.id or 0, []),
            }
            for c in conversations
        ],
    }


async def erase_visitor(
    services: Services, user: User, conversation_id: int, ip: str = ""
) -> dict[str, Any]:
    """Erases the visitor behind a conversation: every conversation of theirs ``user`` may see,
    and who they are once none is left; recorded in the audit log in the same transaction."""
    async with services.db.session() as session:
        contact, conversations = await _visitor_conversations(session, user, conversation_id)
        lines: list[Activity] = []
        now = services.clock.now()
        erased = await _erase(session, conversations, now, user.id, lines)
        audit.add(
            session, user.destination_id, "erase", now, actor_id=user.id,
            conversation_id=conversation_id, contact_id=contact.id,
            detail=f"{len(erased)} conversation(s)", ip=ip,
        )  # fmt: skip
        forget = erased
        contact_erased = True
        # Every identity of the merged profile: each is forgotten once none of its
        # conversations is left (another office's may still be running).
        for member in await _profile(session, contact):
            if await _erase_contact_if_done(session, member):
                # Their name was in every event of every conversation of theirs.
                forget = [*forget, *await _all_of(session, member.id or 0)]
            else:
                contact_erased = False
        forget = list({c.id: c for c in forget}.values())
        await session.commit()
        accounts = await repository.cached_by_id(session, Account, {c.account_id for c in erased})
    await _forget_events(services, forget)
    # The "erased" lines go out after the stream was cleaned, so they stay in it.
    for conversation, line in zip(erased, lines, strict=True):
        await activity.publish(services, conversation, accounts[conversation.account_id], [line])
    log.info(
        "visitor data erased by user %s: %d conversation(s), contact %s",
        user.id,
        len(erased),
        "erased" if contact_erased else "kept for other offices",
    )
    return {"conversations": len(erased), "visitor_erased": contact_erased}


async def _erase(
    session: AsyncSession,
    conversations: Sequence[Conversation],
    now: datetime,
    actor_id: int | None = None,
    lines: list[Activity] | None = None,
    kind: str = "erased",
) -> list[Conversation]:
    """Blanks ``conversations`` (in the session's transaction) and adds a ``kind`` activity
    line to each (``erased``, or why it was: app.visitor_data; appended to ``lines``, in the
    same order); the ones erased now."""
    todo = [c for c in conversations if not is_erased(c) and c.id is not None]
    ids = [c.id for c in todo]
    if not ids:
        return []
    messages = (
        await session.exec(select(Message).where(col(Message.conversation_id).in_(ids)))
    ).all()
    message_ids = [m.id for m in messages]
    await session.exec(
        delete(StoredAttachment).where(col(StoredAttachment.message_id).in_(message_ids))
    )
    for message in messages:
        if message.delivery_status == DeliveryStatus.PENDING:  # the outbox must not send it
            message.delivery_status = DeliveryStatus.FAILED
        message.text = ""
        message.html = None
        message.quote_start = None
        message.client_id = ""
        message.delivery_error = ""
        message.delivery_code = ""  # its params may hold the address, the server's words
        message.delivery_params = ""
        # Where replies went, forwarded headers, links: the visitor's too. What is left says
        # the text was erased, so an erased message is never mistaken for an empty one.
        message.details = ERASED_DETAILS
        if message.external_id:
            message.external_id = erased_id(message.external_id)
        session.add(message)
    await session.exec(delete(ThreadRef).where(col(ThreadRef.conversation_id).in_(ids)))
    await session.exec(
        update(RoutingDecision)
        .where(col(RoutingDecision.conversation_id).in_(ids))
        .values(detail="")
    )
    # A transfer's line carries the start of its note, which may quote the visitor.
    await session.exec(
        update(Activity).where(col(Activity.conversation_id).in_(ids)).values(detail="")
    )
    for conversation in todo:
        conversation.thread_key = f"{ERASED}{conversation.id}"
        conversation.subject = ""
        conversation.preview = ""
        conversation.visitor_ip = ""  # kept only to let a manager block it (app.moderation)
        conversation.unread = 0
        conversation.waiting_since = None
        conversation.status = ConversationStatus.RESOLVED
        conversation.forget_at = None  # done: the "do not keep" sweep has nothing left here
        session.add(conversation)
        line = activity.add(session, conversation.id or 0, kind, now, actor_id=actor_id)
        if lines is not None:
            lines.append(line)
    return todo


async def _all_of(session: AsyncSession, contact_id: int) -> list[Conversation]:
    found = await session.exec(select(Conversation).where(Conversation.contact_id == contact_id))
    return list(found.all())


async def _erase_contact_if_done(session: AsyncSession, contact: Contact) -> bool:
    """Forgets who the visitor is once every conversation of theirs is erased."""
    if contact.external_id.startswith(ERASED):
        return True
    await session.flush()
    left = (
        await session.exec(
            select(Conversation.id).where(
                Conversation.contact_id == contact.id,
                ~col(Conversation.thread_key).startswith(ERASED),
            )
        )
    ).first()
    if left is not None:
        return False
    contact.external_id = f"{ERASED}{contact.id}"
    contact.name = ""
    contact.handle = ""
    contact.language = ""
    contact.profile = ""
    contact.email = ""
    session.add(contact)
    # Its corrections held its old and new name or address.
    await session.exec(
        update(ContactEvent)
        .where(col(ContactEvent.contact_id) == contact.id)
        .values(old_value="", new_value="")
    )
    return True


async def _forget_events(
    services: Services, erased: Sequence[Conversation], tell_inboxes: bool = True
) -> None:
    """Deletes the live events that carried the erased conversations' words or their visitor's
    name (one pass over each destination's stream), and tells the inboxes showing them."""
    by_destination: dict[int, set[int]] = {}
    for conversation in erased:
        by_destination.setdefault(conversation.destination_id, set()).add(conversation.id or 0)
    for destination_id, ids in by_destination.items():
        # Each chat conversation's own copy of its events (app/realtime.py) goes whole.
        await services.redis.delete(*(keys.conversation_events(destination_id, i) for i in ids))
        stream = keys.events(destination_id)
        start = "-"
        while True:
            entries: Any = await services.redis.xrange(stream, min=start, count=1000)
            if not entries:
                break
            doomed = [entry_id for entry_id, fields in entries if _mentions(fields, ids)]
            if doomed:
                await services.redis.xdel(stream, *doomed)
            last = entries[-1][0]
            last_text = last.decode() if isinstance(last, bytes) else str(last)
            start = "(" + last_text
            if len(entries) < 1000:
                break
    if not tell_inboxes:
        return
    async with services.db.session() as session:
        for conversation in erased:
            account = await session.get(Account, conversation.account_id)
            if account is None:
                continue
            view = await repository.conversation_out(session, conversation)
            await services.hub.publish(
                conversation.destination_id,
                ConversationChanged(
                    **repository.audience(conversation, account), conversation=view
                ),
            )


def _mentions(fields: dict[Any, Any], ids: set[int]) -> bool:
    """Whether a stored event is about one of the conversations ``ids``."""
    raw = fields.get(b"e", fields.get("e"))
    try:
        event = json.loads(raw) if raw is not None else None
    except ValueError:
        return False
    return isinstance(event, dict) and event.get("conversation_id") in ids


async def sweep(services: Services, now: datetime) -> int:
    """Erases what the retention period has run out on, and the conversations whose visitor
    asked not to keep them once answered (``forget_at`` passed); the number erased."""
    total = await _sweep_forgotten(services, now)
    cutoff = now - timedelta(days=services.settings.retention_days)
    forgotten: dict[int | None, Conversation] = {}
    while True:
        async with services.db.session() as session:
            found = (
                await session.exec(
                    select(Conversation)
                    .where(
                        col(Conversation.last_message_at) < cutoff,
                        ~col(Conversation.thread_key).startswith(ERASED),
                    )
                    .limit(SWEEP_BATCH)
                )
            ).all()
            if not found:
                break
            erased = await _erase(session, found, now)
            forget = {c.id: c for c in erased}
            for contact_id in {c.contact_id for c in erased}:
                contact = await session.get(Contact, contact_id)
                if contact is not None and await _erase_contact_if_done(session, contact):
                    forget.update((c.id, c) for c in await _all_of(session, contact_id))
            await session.commit()
        forgotten.update(forget)
        total += len(erased)
    if forgotten:  # one pass over the streams for the whole sweep; nobody has these open
        await _forget_events(services, list(forgotten.values()), tell_inboxes=False)
    async with services.db.session() as session:
        await session.exec(delete(Quarantine).where(col(Quarantine.at) < cutoff))
        await session.commit()
    # Live events older than the retention period go too, whatever they carried. Their ids are
    # the Redis server's own clock, not the app's (which a demo may set elsewhere).
    oldest = datetime.now(UTC) - timedelta(days=services.settings.retention_days)
    for destination_id in await _destination_ids(services):
        await services.redis.xtrim(
            keys.events(destination_id), minid=str(int(oldest.timestamp() * 1000))
        )
    return total


async def _sweep_forgotten(services: Services, now: datetime) -> int:
    """Erases the "do not keep" conversations due (app.visitor_data), telling the inboxes
    that may still show them, with a line saying why."""
    total = 0
    while True:
        lines: list[Activity] = []
        async with services.db.session() as session:
            found = (
                await session.exec(
                    select(Conversation)
                    .where(
                        col(Conversation.forget_at).is_not(None),
                        col(Conversation.forget_at) <= now,
                        ~col(Conversation.thread_key).startswith(ERASED),
                    )
                    .limit(SWEEP_BATCH)
                )
            ).all()
            if not found:
                return total
            erased = await _erase(session, found, now, None, lines, kind="erased_forgotten")
            forget = {c.id: c for c in erased}
            for contact_id in {c.contact_id for c in erased}:
                contact = await session.get(Contact, contact_id)
                if contact is not None and await _erase_contact_if_done(session, contact):
                    forget.update((c.id, c) for c in await _all_of(session, contact_id))
            await session.commit()
            accounts = await repository.cached_by_id(
                session, Account, {c.account_id for c in erased}
            )
        await _forget_events(services, list(forget.values()))
        for conversation, line in zip(erased, lines, strict=True):
            await activity.publish(
                services, conversation, accounts[conversation.account_id], [line]
            )
        total += len(erased)


async def _destination_ids(services: Services) -> list[int]:
    from app.models import Destination

    async with services.db.session() as session:
        return [d.id for d in (await session.exec(select(Destination))).all() if d.id is not None]


async def keep_swept(services: Services, worker: str) -> None:
    """Forever: the retention sweep, once an hour, by the worker holding the lease."""
    while True:
        try:
            if await services.redis.set(keys.privacy_lease(), worker, nx=True, ex=LEASE_SECONDS):
                erased = await sweep(services, services.clock.now())
                if erased:
                    log.info("retention: %d conversation(s) erased", erased)
        except Exception:  # the sweep must outlive a passing database or Redis error
            log.exception("retention sweep failed")
        await asyncio.sleep(SWEEP_SECONDS)
