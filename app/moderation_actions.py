"""The managers' moderation actions: block a conversation's sender or its chat visitor's address,
lift a block, list the blocks in force, mark a conversation as spam or restore it.

Each checks the role (managers only: 403) and reads the conversation through ``can_see`` (404
for one the manager may not read, another destination's included), writes its activity line in
the same transaction, and announces the change after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from redis.exceptions import RedisError
from sqlmodel import col, select

from app import activity, repository
from app.actions import ActionError, check_conversation
from app.assignment import assign_waiting
from app.events import ActivityCreated, ConversationChanged, ConversationOut
from app.models import Account, Activity, Block, Contact, Conversation, User
from app.moderation import (
    DURATIONS,
    BlockOut,
    active,
    blocks_out,
    forget_ended,
    ip_subject,
    is_proxy,
    may_manage,
    may_see_block,
    resync,
)
from app.privacy import is_erased
from app.services import Services
from app.spam import bring_back, set_aside, set_aside_many

log = logging.getLogger(__name__)


async def block_from(
    services: Services,
    user: User,
    conversation_id: int,
    target: Literal["sender", "ip"],
    duration: str,
    reason: str,
) -> BlockOut:
    """Blocks the sender of a conversation the manager may read, or the address of its chat
    visitor's last connection. A block of the same subject still in force is replaced."""
    if not may_manage(user):
        raise ActionError("error.managers_only", 403)
    if duration not in DURATIONS:
        raise ActionError("moderation.error.duration")
    now = services.clock.now()
    async with services.db.session() as session:
        loaded = await check_conversation(session, user, conversation_id)
        conversation = loaded.conversation
        if is_erased(conversation):
            raise ActionError("moderation.error.erased", 409)
        if target == "sender":
            contact = await session.get(Contact, conversation.contact_id)
            assert contact is not None
            kind, channel, value = "contact", contact.channel, contact.external_id
            # A chat visitor's id is a random token: the list names them by their conversation.
            fallback = "" if contact.channel == "webchat" else contact.external_id
            label = contact.handle or contact.name or fallback
        else:
            subject = (
                ip_subject(conversation.visitor_ip) if conversation.channel == "webchat" else None
            )
            if subject is None:
                raise ActionError("moderation.error.no_address", 409)
            if is_proxy(conversation.visitor_ip, services.settings.trusted_proxies):
                raise ActionError("moderation.error.proxy_address", 409)
            kind, channel, value, label = "ip", "", subject, subject
        same = (
            await session.exec(
                select(Block).where(
                    Block.destination_id == conversation.destination_id,
                    Block.kind == kind,
                    Block.channel == channel,
                    Block.value == value,
                    active(now),
                )
            )
        ).all()
        for old in same:
            old.lifted_at, old.lifted_by = now, user.id
            session.add(old)
        span = DURATIONS[duration]
        row = Block(
            destination_id=conversation.destination_id,
            kind=kind,
            channel=channel,
            value=value,
            label=label[:320],
            reason=reason.strip()[:500],
            conversation_id=conversation.id,
            created_by=user.id,
            created_at=now,
            expires_at=None if span is None else now + span,
        )
        session.add(row)
        await forget_ended(session, conversation.destination_id, now)
        line = activity.add(session, conversation_id, "blocked", now, actor_id=user.id, detail=kind)
        await session.commit()
        await session.refresh(row)
    log.info("block %s of %s by user %s (%s)", row.id, kind, user.id, duration)
    await _mirror(services, conversation.destination_id)
    await activity.publish(services, conversation, loaded.account, [line])
    return blocks_out([row], {user.id or 0: user.name})[0]


async def lift(services: Services, user: User, block_id: int) -> None:
    """Lifts a block the manager may see (404 otherwise, never revealing it exists)."""
    if not may_manage(user):
        raise ActionError("error.managers_only", 403)
    now = services.clock.now()
    async with services.db.session() as session:
        row = await session.get(Block, block_id)
        conversation = (
            await session.get(Conversation, row.conversation_id)
            if row is not None and row.conversation_id
            else None
        )
        if row is None or not may_see_block(user, row, conversation):
            raise ActionError("moderation.error.block_not_found", 404)
        if row.lifted_at is None:
            row.lifted_at, row.lifted_by = now, user.id
            session.add(row)
            await session.commit()
            log.info("block %s lifted by user %s", block_id, user.id)
    await _mirror(services, user.destination_id)


async def listed(services: Services, user: User) -> list[BlockOut]:
    """The blocks in force that the manager may see, newest first."""
    if not may_manage(user):
        raise ActionError("error.managers_only", 403)
    now = services.clock.now()
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(Block)
                .where(Block.destination_id == user.destination_id, active(now))
                .order_by(col(Block.created_at).desc(), col(Block.id).desc())
            )
        ).all()
        ids = {b.conversation_id for b in rows if b.conversation_id}
        conversations = {
            c.id: c
            for c in (
                await session.exec(select(Conversation).where(col(Conversation.id).in_(ids)))
            ).all()
        }
        seen = [
            b for b in rows if may_see_block(user, b, conversations.get(b.conversation_id or 0))
        ]
        users = await repository.cached_by_id(
            session, User, {b.created_by for b in seen if b.created_by}
        )
    return blocks_out(seen, {k: u.name for k, u in users.items()})


async def _mirror(services: Services, destination_id: int) -> None:
    try:
        await resync(services, destination_id)
    except (RedisError, OSError) as exc:
        # The record is in SQL (the ingest reads it there); the socket's mirror catches up on
        # the next block, lift or Redis restart.
        log.warning("blocks of destination %s not mirrored in Redis: %s", destination_id, exc)


async def mark_spam(
    services: Services, user: User, conversation_id: int, spam: bool, *, assign: bool = True
) -> tuple[ConversationOut, bool]:
    """Marks a conversation the manager may read as spam, or restores it; also says whether
    anything changed. ``assign`` False leaves the assignment pass to the caller (bulk)."""
    if not may_manage(user):
        raise ActionError("error.managers_only", 403)
    now = services.clock.now()
    async with services.db.session() as session:
        loaded = await check_conversation(session, user, conversation_id)
        conversation, account = loaded.conversation, loaded.account
        if conversation.spam == spam:
            return await repository.live_view(services, session, conversation), False
        lines: list[Activity] = []
        if spam:
            await set_aside(session, conversation)
        else:
            await bring_back(services, session, conversation)
        lines.append(
            activity.add(
                session, conversation_id, "spam" if spam else "not_spam", now, actor_id=user.id
            )
        )
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    log.info(
        "conversation %s %s by user %s", conversation_id, "spam" if spam else "restored", user.id
    )
    await activity.publish_change(services, conversation, account, view, lines)
    if assign and not spam:
        await assign_waiting(services, account.destination_id, conversation.office_id)
    return view, True


async def spam_many(services: Services, user: User, ids: Sequence[int]) -> list[int]:
    """Marks many conversations as spam at once (the bulk action), in one transaction: those the
    manager may not read or already in spam are skipped. Returns the ids it changed."""
    if not may_manage(user):
        raise ActionError("error.managers_only", 403)
    now = services.clock.now()
    async with services.db.session() as session:
        rows = list(
            (
                await session.exec(
                    select(Conversation).where(
                        col(Conversation.id).in_(list(ids)),
                        repository.visible_filter(user),
                        col(Conversation.spam).is_(False),
                    )
                )
            ).all()
        )
        await set_aside_many(session, rows)
        lines = [activity.add(session, c.id or 0, "spam", now, actor_id=user.id) for c in rows]
        await session.commit()
        views = await repository.conversations_out(session, rows)
        outs = await activity.activities_out(session, lines)
        accounts = await repository.cached_by_id(session, Account, {c.account_id for c in rows})
    for conversation, view, line in zip(rows, views, outs, strict=True):
        audience = repository.audience(conversation, accounts[conversation.account_id])
        await services.hub.publish(
            conversation.destination_id, ConversationChanged(**audience, conversation=view)
        )
        await services.hub.publish(
            conversation.destination_id, ActivityCreated(**audience, activity=line)
        )
    log.info("%s conversations marked as spam by user %s", len(rows), user.id)
    return [c.id for c in rows if c.id is not None]
