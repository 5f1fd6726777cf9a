"""Nothing stored is left unannounced or unsent: the replay of the transactional outbox.

A message and its :class:`~app.relay_rows.Relay` row are committed together. The writer then
publishes its events (and queues a reply) inside :func:`following`: when Redis answered, the row
is done and deleted in the next batch; when Redis failed, the error is swallowed — the message
*is* stored, the adviser is told so — and the row stays. Every couple of seconds one worker (a
short Redis lock) replays the rows older than a few seconds: it publishes the message's
``message.created`` and ``conversation.changed`` again from what is stored, queues a reply still
pending, and deletes the row. Browsers keep messages by id, so an event the writer had managed to
send before failing is not shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import delete, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, keys, outage, repository, spam
from app.assignment import assign_waiting
from app.events import ConversationChanged, MessageCreated
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    User,
)
from app.outbox import enqueue
from app.relay_rows import Relay
from app.services import Services

log = logging.getLogger(__name__)

_HOLD = insert(Relay)
GRACE = timedelta(seconds=3)  # a writer still publishing (on another worker) is left to finish
EVERY = 1.0  # seconds between two replay passes (and two deletions of the rows done)
BATCH = 200
LOCK_MS = 15_000


async def hold(
    session: AsyncSession, message: Message, destination_id: int, *, again: bool = False
) -> None:
    """Adds, in the message's own transaction, the row saying its follow-up is owed;
    ``again`` for a stored message queued once more (a retry): one row per message, the
    newest. A new message has none to replace."""
    if message.id is None:
        await session.flush()
    if again:
        await session.exec(delete(Relay).where(col(Relay.message_id) == message.id))
    assert message.id is not None
    # Written on the transaction's connection, not added to the session: a chat message's
    # unit of work then ends with no second flush (a row nothing reads back).
    await db.plain_write(
        session,
        _HOLD,
        {
            "message_id": message.id,
            "destination_id": destination_id,
            "created_at": datetime.now(UTC),
        },
    )


@asynccontextmanager
async def following(services: Services, message_id: int) -> AsyncIterator[None]:
    """Runs a committed message's follow-up; a Redis failure in it is left to the replay.

    Only Redis failures are swallowed (said once per outage): any other error is a bug and
    propagates as before."""
    services.following.add(message_id)
    try:
        yield
    except (RedisError, OSError) as exc:
        if not outage.quiet(exc, "publish"):
            log.warning("message %s: follow-up failed (%s); left to the replay", message_id, exc)
        return
    finally:
        services.following.discard(message_id)
    services.relayed.add(message_id)


async def flush_done(services: Services) -> None:
    """Deletes, in one statement, the rows whose follow-up this worker has done."""
    done, services.relayed = services.relayed, set()
    if not done:
        return
    try:
        async with services.db.session() as session:
            await session.exec(delete(Relay).where(col(Relay.message_id).in_(done)))
            await session.commit()
    except Exception:
        services.relayed |= done  # tried again next pass; a replay meanwhile is harmless
        raise


async def replay_once(services: Services, older_than: timedelta = GRACE) -> int:
    """Replays the rows older than ``older_than`` (one worker at a time); returns how many."""
    token = services.worker_id
    if not await services.redis.set(keys.relay_lease(), token, nx=True, px=LOCK_MS):
        return 0
    try:
        before = datetime.now(UTC) - older_than
        async with services.db.session() as session:
            rows = (
                await session.exec(
                    select(Relay)
                    .where(col(Relay.created_at) <= before)
                    .order_by(col(Relay.id))
                    .limit(BATCH)
                )
            ).all()
        # A follow-up still running here is slow, not lost (a busy worker): it is not replayed
        # over, which would only add the same events to the load.
        rows = [row for row in rows if row.message_id not in services.following]
        for row in rows:
            await _replay(services, row.message_id)
            async with services.db.session() as session:
                await session.exec(delete(Relay).where(col(Relay.id) == row.id))
                await session.commit()
        if rows:
            log.info("replayed %s stored message(s) whose events or send were owed", len(rows))
        return len(rows)
    finally:
        with contextlib.suppress(RedisError, OSError):
            await services.redis.delete(keys.relay_lease())


async def _replay(services: Services, message_id: int) -> None:
    """Announces a stored message again from what SQL holds, and queues it if still pending."""
    async with services.db.session() as session:
        message = await session.get(Message, message_id)
        if message is None:  # erased meanwhile: nothing to announce
            return
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        account = await session.get(Account, conversation.account_id)
        assert account is not None
        name = ""
        if message.author_kind == AuthorKind.VISITOR:
            contact = await session.get(Contact, conversation.contact_id)
            name = contact.name if contact is not None else ""
        elif message.author_user_id:
            user = await session.get(User, message.author_user_id)
            name = user.name if user is not None else ""
        view = await repository.live_view(services, session, conversation)
    # A conversation in spam is announced to managers only, as when it was written (app.spam).
    audience = spam.audience_of(repository.audience(conversation, account), conversation, ())
    await services.hub.publish(
        account.destination_id, ConversationChanged(**audience, conversation=view)
    )
    await services.hub.publish(
        account.destination_id,
        MessageCreated(**audience, message=repository.message_out(message, name)),
    )
    if message.delivery_status == DeliveryStatus.PENDING and message.direction == Direction.OUT:
        await enqueue(services, account.destination_id, message_id)
    waiting = conversation.assignee_id is None and conversation.status == ConversationStatus.OPEN
    if message.direction == Direction.IN and waiting:  # its ingest could not assign it either
        await assign_waiting(services, account.destination_id, conversation.office_id)


async def keep_replaying(services: Services) -> None:
    """Forever: deletes the rows done, replays the rows left behind."""
    failures = 0
    while True:
        await asyncio.sleep(EVERY)
        try:
            await flush_done(services)
            await replay_once(services)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the replay must outlive a passing database or Redis error
            failures += 1
            if not outage.quiet(exc, "replay"):
                log.exception("replay of owed follow-ups failed")
            await outage.pause(failures)
