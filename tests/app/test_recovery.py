"""Nothing stored is lost when Redis fails after the SQL commit: a reply is stored pending and
sent once Redis is back, a visitor's message reaches the open inboxes — with a real Redis server
of the test's own, killed with SIGKILL and started again on the same port."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app import actions, keys, outbox, presence, recovery
from app.db import create_tables
from app.demo import seed
from app.embedded_redis import EmbeddedRedis
from app.events import MessageCreated, MessageStatus
from app.inbox import Inbox
from app.models import (
    Account,
    AuthorKind,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    User,
)
from app.outbox import Dispatcher, enqueue
from app.realtime import Listener, stop
from app.relay_rows import Relay
from app.services import Services
from app.settings import Settings
from bench.sql_statements import leave_an_address
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_leases import x_services  # noqa: F401  (the X account, configured)
from tests.support.fake_x import FakeX

T0 = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test only (the shared one must not be killed), persisting like the app's."""
    redis = EmbeddedRedis(tmp_path / "own-redis")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
async def own(server: EmbeddedRedis, settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings.model_copy(update={"redis_url": server.url}))
    await create_tables(services.db.engine)
    async with services.db.session() as session:
        await seed(session)
    yield services
    await services.close()


def kill(server: EmbeddedRedis) -> None:
    """SIGKILL, as the probe did: no shutdown, no flush."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    proc = server._process
    assert proc is not None
    proc.wait(5)


def chat(text: str, external_id: str, thread: str = "visitor-1") -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account="chat-port-argent", external_id=external_id,
        thread_key=thread, author=Author(external_id=thread, name="Ana"), text=text,
        received_at=T0,
    )  # fmt: skip


async def queued_chat(services: Services, text: str, external_id: str) -> int:
    """A chat opened by ``text`` whose visitor left an e-mail address and is here: its replies
    go through the outbox (app.actions), which sends them on the chat (app.offline_mail)."""
    first = await Inbox(services).ingest(chat(text, external_id))
    await leave_an_address(services, first.conversation_id)
    return first.conversation_id


async def adviser(services: Services, conversation_id: int) -> User:
    """An adviser of the office the conversation went to."""
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return (
            await session.exec(select(User).where(User.office_id == conversation.office_id))
        ).first() or pytest.fail("no adviser in the office")


async def relay_rows(services: Services) -> list[Relay]:
    async with services.db.session() as session:
        return list((await session.exec(select(Relay))).all())


async def stored(services: Services, message_id: int) -> Message:
    async with services.db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def drain(listener: Listener, seconds: float) -> list[Any]:
    """Every event the listener got within ``seconds``."""
    got = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            item = await asyncio.wait_for(listener.queue.get(), left)
        except TimeoutError:
            break
        if item is not None:
            got.append(item[1])
    return got


async def test_a_reply_stored_when_redis_fails_after_the_commit_is_sent_once_it_is_back(
    own: Services, server: EmbeddedRedis
) -> None:
    conversation_id = await queued_chat(own, "Bonjour, le phare ouvre à quelle heure ?", "w1")
    user = await adviser(own, conversation_id)
    await recovery.flush_done(own)  # the visitor's message was announced: nothing owed
    kill(server)

    # Redis is gone between the reply's commit and its publish/queueing: no error escapes
    # (the adviser's request is answered), the reply is stored pending and owed its follow-up.
    message = await actions.reply(own, user, conversation_id, "À 10 h, bonne visite !")
    assert message.id is not None
    assert (await stored(own, message.id)).delivery_status == DeliveryStatus.PENDING
    assert [r.message_id for r in await relay_rows(own)] == [message.id]

    server.start()  # same port, same password, same data directory
    # The visitor's widget, still open, says so again (its next ping): what Redis took in
    # just before the kill may not have reached its append-only file (written once a second).
    await leave_an_address(own, conversation_id)
    destination_id = (await relay_rows(own))[0].destination_id
    listener = Listener(accepts=lambda event: True)
    own.hub.subscribe(destination_id, listener)
    await asyncio.sleep(0.3)  # the reader is reading from the stream's end
    assert await recovery.replay_once(own, older_than=timedelta(0)) == 1
    assert await relay_rows(own) == []

    dispatcher = Dispatcher(own, destination_id, "test-worker")
    task = asyncio.create_task(dispatcher.run())
    try:
        for _ in range(100):
            if (await stored(own, message.id)).delivery_status != DeliveryStatus.PENDING:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop(task)  # a loop around Redis calls: cancelled until it has ended
    assert (await stored(own, message.id)).delivery_status == DeliveryStatus.SENT
    events = await drain(listener, 0.5)
    created = [e for e in events if isinstance(e, MessageCreated) and e.message.id == message.id]
    assert len(created) == 1  # the open inboxes see the reply, once
    sent = [e for e in events if isinstance(e, MessageStatus) and e.message_id == message.id]
    # Sent once; its outcome may be said again (a second entry finds it sent): the same news.
    assert sent and {e.status for e in sent} == {DeliveryStatus.SENT}
    own.hub.unsubscribe(destination_id, listener)


async def test_a_visitor_message_stored_while_redis_is_down_reaches_the_open_inboxes(
    own: Services, server: EmbeddedRedis
) -> None:
    first = await Inbox(own).ingest(chat("premier message", "v1"))
    await recovery.flush_done(own)
    user = await adviser(own, first.conversation_id)
    await presence.connect(own, user)  # online: a new chat is assigned to them
    assert await relay_rows(own) == []  # published at once: nothing owed
    async with own.db.session() as session:
        account = (
            await session.exec(select(Account).where(Account.key == "chat-port-argent"))
        ).one()
    listener = Listener(accepts=lambda event: True)
    own.hub.subscribe(account.destination_id, listener)
    await asyncio.sleep(0.3)
    kill(server)

    # The message is stored and acknowledged to its sender (no exception) though Redis is down.
    result = await Inbox(own).ingest(chat("message pendant la panne", "v2", "visitor-2"))
    assert result.created
    assert [r.message_id for r in await relay_rows(own)] == [result.message_id]
    # The same message sent again by the widget (no ack seen) is stored once, owed once.
    again = await Inbox(own).ingest(chat("message pendant la panne", "v2", "visitor-2"))
    assert (again.message_id, again.created) == (result.message_id, False)

    server.start()
    # The app's own replay loop (as each worker runs it) announces it once Redis is back.
    task = asyncio.create_task(recovery.keep_replaying(own))
    try:
        events = await drain(listener, 6.0)
    finally:
        await stop(task)  # a loop around Redis calls: cancelled until it has ended
    created = [
        e for e in events if isinstance(e, MessageCreated) and e.message.id == result.message_id
    ]
    assert len(created) == 1
    assert created[0].message.text == "message pendant la panne"
    assert await relay_rows(own) == []
    async with own.db.session() as session:  # its ingest could not assign it: the replay did
        opened = await session.get(Conversation, result.conversation_id)
        assert opened is not None and opened.assignee_id == user.id
    own.hub.unsubscribe(account.destination_id, listener)


async def test_follow_ups_done_leave_no_row_and_are_not_replayed(own: Services) -> None:
    results = [await Inbox(own).ingest(chat(f"m{i}", f"ok{i}", f"t{i}")) for i in range(3)]
    assert len(await relay_rows(own)) == 3  # deleted in the next batch, not one write each
    assert own.relayed == {r.message_id for r in results}
    await recovery.flush_done(own)
    assert await relay_rows(own) == []
    assert await recovery.replay_once(own, older_than=timedelta(0)) == 0


async def test_a_follow_up_still_running_in_this_worker_is_not_replayed_over(
    own: Services,
) -> None:
    """A busy worker's slow follow-up is late, not lost: replaying it too would only add the
    same events to the load. Once it ends, its row goes with the next batch."""
    result = await Inbox(own).ingest(chat("premier", "slow1", "t-slow"))
    await recovery.flush_done(own)
    async with own.db.session() as session:
        message = await session.get(Message, result.message_id)
        assert message is not None
        await recovery.hold(session, message, 1)  # owed again, as a retry makes it
        await session.commit()
    async with recovery.following(own, result.message_id):
        assert await recovery.replay_once(own, older_than=timedelta(0)) == 0
        assert [r.message_id for r in await relay_rows(own)] == [result.message_id]
    await recovery.flush_done(own)
    assert await relay_rows(own) == []


async def test_a_reply_queued_twice_is_sent_once(x_services: Services, fake: FakeX) -> None:  # noqa: F811
    """A replay may queue a reply whose first entry also made it: two workers each take one
    entry at once, and the X API still gets one post."""
    tweet = InboundMessage(
        channel=Channel.TWITTER, account="x-port-argent", external_id="1801",
        thread_key="conv:1801", author=Author(external_id="4242", handle="@ana"),
        text="@PortArgentOT le phare ?", received_at=T0,
    )  # fmt: skip
    result = await Inbox(x_services).ingest(tweet)
    async with x_services.db.session() as session:
        conversation = await session.get(Conversation, result.conversation_id)
        assert conversation is not None
        reply = Message(
            conversation_id=result.conversation_id, account_id=conversation.account_id,
            direction=Direction.OUT, author_kind=AuthorKind.ADVISER, text="@ana Oui, jusqu'à 22 h",
            created_at=T0, delivery_status=DeliveryStatus.PENDING,
        )  # fmt: skip
        session.add(reply)
        await session.commit()
        account = await session.get(Account, conversation.account_id)
        assert reply.id is not None and account is not None
    fake.slow(1.5, path="/2/tweets")  # the first send is still running when the second comes
    workers = [
        asyncio.create_task(Dispatcher(x_services, account.destination_id, name).run())
        for name in ("worker-1", "worker-2")
    ]
    try:
        await asyncio.sleep(0.5)  # both are reading the outbox
        await enqueue(x_services, account.destination_id, reply.id)
        await asyncio.sleep(0.5)  # one of them is sending it, slowly: the other is free
        await enqueue(x_services, account.destination_id, reply.id)
        for _ in range(100):
            if (await stored(x_services, reply.id)).delivery_status == DeliveryStatus.SENT:
                break
            await asyncio.sleep(0.05)
        # The other entry, left while the send ran, is claimed again and acknowledged.
        stream = keys.outbox(account.destination_id)
        for _ in range(200):
            pending: Any = await x_services.redis.xpending(stream, "senders")
            if pending["pending"] == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        for task in workers:
            await stop(task)
    assert (await stored(x_services, reply.id)).delivery_status == DeliveryStatus.SENT
    assert len(fake.calls("/2/tweets", "POST")) == 1
    assert pending["pending"] == 0  # both entries acknowledged


async def test_replies_queued_before_redis_lost_its_data_are_sent(own: Services) -> None:
    """A Redis restarted empty (an external one without persistence) lost the outbox entries:
    the replies pending in SQL are queued again and sent."""
    conversation_id = await queued_chat(own, "Bonjour", "d1")
    user = await adviser(own, conversation_id)
    message = await actions.reply(own, user, conversation_id, "Bonjour Ana")
    assert message.id is not None
    account = await stored_account(own, conversation_id)
    await recovery.flush_done(own)  # queued: nothing owed any more
    await own.redis.flushall()  # …then lost with everything else in Redis
    await leave_an_address(own, conversation_id)  # the visitor's widget says it is open again
    dispatcher = Dispatcher(own, account.destination_id, "test-worker")
    task = asyncio.create_task(dispatcher.run())
    try:
        for _ in range(100):
            if (await stored(own, message.id)).delivery_status != DeliveryStatus.PENDING:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop(task)  # a loop around Redis calls: cancelled until it has ended
    assert (await stored(own, message.id)).delivery_status == DeliveryStatus.SENT


async def test_a_dead_worker_s_whole_backlog_is_claimed_pass_after_pass(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replies a worker read from the outbox and never finished (it died) are claimed by
    another: more than one claim's batch of them, each batch at the next pass — not one batch
    per look for claimable entries (the looks are spaced, ``CLAIM_EVERY``)."""
    monkeypatch.setattr(outbox, "CLAIM_IDLE_MS", 50)
    monkeypatch.setattr(outbox, "CLAIM_EVERY", 3600.0)  # one look, then batches pass after pass
    conversation_id = await queued_chat(services, "Bonjour", "b0")
    user = await adviser(services, conversation_id)
    replies = [
        await actions.reply(services, user, conversation_id, f"Réponse {i}")
        for i in range(outbox.CLAIM_BATCH * 2 + 5)
    ]
    destination = (await stored_account(services, conversation_id)).destination_id
    stream = keys.outbox(destination)
    await outbox.ensure_group(services, destination)
    taken: Any = await services.redis.xreadgroup(
        keys.OUTBOX_GROUP, "dead-worker", {stream: ">"}, count=1000
    )
    assert len(taken[0][1]) == len(replies)  # all read by the worker that then died
    await asyncio.sleep(0.1)  # idle for longer than CLAIM_IDLE_MS
    task = asyncio.create_task(Dispatcher(services, destination, "live-worker").run())
    try:
        for _ in range(200):
            pending: Any = await services.redis.xpending(stream, keys.OUTBOX_GROUP)
            if pending["pending"] == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop(task)
    statuses = {(await stored(services, m.id or 0)).delivery_status for m in replies}
    assert statuses == {DeliveryStatus.SENT}
    assert pending["pending"] == 0


async def stored_account(services: Services, conversation_id: int) -> Account:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        account = await session.get(Account, conversation.account_id)
        assert account is not None
        return account


async def test_a_chat_reply_is_sent_once_stored_and_one_to_a_visitor_with_an_address_is_queued(
    services: Services,
) -> None:
    """A chat reply reaches the visitor by the live event that announces it: stored sent, with
    nothing queued for the outbox, its outcome announced with it. Once the visitor left an
    e-mail address, replies are queued: the outbox decides, when sending, between the chat and
    a mail (app.offline_mail). (An X reply, always queued: the test of a reply queued twice.)"""
    plain = await Inbox(services).ingest(chat("Bonjour", "q1", thread="visitor-q1"))
    user = await adviser(services, plain.conversation_id)
    destination = (await stored_account(services, plain.conversation_id)).destination_id
    listener = Listener(accepts=lambda event: True)
    services.hub.subscribe(destination, listener)
    await asyncio.sleep(0.3)  # the reader is reading from the stream's end
    try:
        sent = await actions.reply(services, user, plain.conversation_id, "Oui, à 10 h.")
        assert sent.delivery_status == DeliveryStatus.SENT
        assert (await stored(services, sent.id or 0)).delivery_status == DeliveryStatus.SENT
        events = await drain(listener, 0.5)
    finally:
        services.hub.unsubscribe(destination, listener)
    created = [e for e in events if isinstance(e, MessageCreated) and e.message.id == sent.id]
    assert [e.message.delivery_status for e in created] == [DeliveryStatus.SENT]
    statuses = [e for e in events if isinstance(e, MessageStatus)]
    assert [(e.message_id, e.status) for e in statuses] == [(sent.id, DeliveryStatus.SENT)]
    assert events.index(statuses[0]) > events.index(created[0])

    addressed = await queued_chat(services, "Bonsoir", "q2")
    waiting = await actions.reply(services, user, addressed, "Nous vous écrivons.")
    assert waiting.delivery_status == DeliveryStatus.PENDING
    queued: Any = await services.redis.xrange(keys.outbox(destination))
    assert [int(fields[b"m"]) for _id, fields in queued] == [waiting.id]
