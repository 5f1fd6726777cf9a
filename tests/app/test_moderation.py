"""Moderation: blocks (the chat socket's one-round-trip refusal, the Redis mirror of the SQL
record), conversations marked as spam out of every list, count and figure, and the managers'
endpoints (roles, CSRF, other destinations)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app import moderation
from app.inbox import Inbox
from app.models import Account, Conversation, Role, User
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_api_lists import EIGHT


def chat(visitor: str, n: int = 0, account: str = "chat-port-argent") -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account=account, external_id=f"{visitor}:m{n}",
        thread_key=visitor, author=Author(external_id=visitor, name=f"Visitor {visitor}"),
        text=f"hello {n}", received_at=EIGHT + timedelta(seconds=n),
        metadata={"client_id": f"m{n}", "ip": "203.0.113.7"},
    )  # fmt: skip


async def manager(services: Services) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()


async def account(services: Services, key: str = "chat-port-argent") -> Account:
    async with services.db.session() as session:
        return (await session.exec(select(Account).where(Account.key == key))).one()


async def set_ip(services: Services, conversation_id: int, ip: str) -> None:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.visitor_ip = ip
        session.add(conversation)
        await session.commit()


async def test_a_blocked_visitor_and_a_blocked_address_are_refused_until_lifted_or_expired(
    services: Services,
) -> None:
    chat_account = await account(services)
    boss = await manager(services)
    first = await Inbox(services).ingest(chat("v-spammer"))
    await set_ip(services, first.conversation_id, "2001:db8:1:2::9")
    assert await moderation.refusal(services, chat_account, "v-spammer", "2001:db8:1:2::9") is None

    held = await moderation.block_from(services, boss, first.conversation_id, "sender", "24h", "")
    assert await moderation.refusal(services, chat_account, "v-spammer", "198.51.100.1") == (
        "visitor_blocked"
    )
    assert await moderation.refusal(services, chat_account, "v-other", "198.51.100.1") is None

    await moderation.block_from(services, boss, first.conversation_id, "ip", "permanent", "flood")
    # The whole /64 of the address: the next address of the same phone is refused too, a new
    # visitor (no id yet) as well; another network is not.
    for ip in ("2001:db8:1:2::9", "2001:db8:1:2:ffff::1"):
        assert await moderation.refusal(services, chat_account, None, ip) == "ip_blocked"
    assert await moderation.refusal(services, chat_account, None, "2001:db8:1:3::9") is None

    # A day later the visitor's block has run out; the address's has not.
    services.clock.set(EIGHT + timedelta(hours=25))
    assert await moderation.refusal(services, chat_account, "v-spammer", "198.51.100.1") is None
    listed = await moderation.listed(services, boss)
    assert [b.kind for b in listed] == ["ip"] and listed[0].reason == "flood"

    await moderation.lift(services, boss, listed[0].id)
    assert await moderation.refusal(services, chat_account, None, "2001:db8:1:2::9") is None
    assert held.expires_at is not None
    assert (
        timedelta(0)
        <= held.expires_at - held.created_at - timedelta(hours=24)
        < timedelta(seconds=1)
    )


async def test_the_redis_mirror_is_rebuilt_from_sql_after_redis_lost_it(
    services: Services,
) -> None:
    chat_account = await account(services)
    first = await Inbox(services).ingest(chat("v-lost"))
    await moderation.block_from(
        services, await manager(services), first.conversation_id, "sender", "7d", ""
    )
    await services.redis.flushall()  # a Redis restarted without its data
    assert await moderation.refusal(services, chat_account, "v-lost", "::1") == "visitor_blocked"
    # …and the mirror is back: the next look is one HMGET again.
    assert await services.redis.hget(moderation.blocks_key(chat_account.destination_id), "synced")


async def test_refusal_fails_open_with_one_log_line_when_redis_is_down(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    chat_account = await account(services)
    await services.redis.aclose()
    services.redis = type(services.redis).from_url("redis://127.0.0.1:1", socket_timeout=1)
    for _ in range(3):
        assert await moderation.refusal(services, chat_account, "v-1", "203.0.113.1") is None
    lines = [r for r in caplog.records if r.name == "app.moderation"]
    assert len(lines) == 1 and "Redis unavailable" in lines[0].getMessage()
