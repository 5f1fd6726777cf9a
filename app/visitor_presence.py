"""Which chat visitors have their widget open right now: ephemeral Redis state, never SQL.

A visitor's socket touches its entry when it opens and on every frame or ping; the entry
expires on its own if the socket dies without a goodbye. Live visitors go before older backlog,
in assignment and in the advisers' lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app import keys, socket_presence
from app.models import Conversation
from app.services import Services

LIVE_TTL = 75  # seconds: the widget pings every 25 s


def member(account_id: int, thread_key: str) -> str:
    return f"{account_id}:{thread_key}"


def member_of(conversation: Conversation) -> str:
    return member(conversation.account_id, conversation.thread_key)


async def touch(services: Services, destination_id: int, account_id: int, thread_key: str) -> None:
    """The visitor's widget is open now."""
    expiry = services.clock.now().timestamp() + LIVE_TTL
    await services.redis.zadd(
        keys.live_visitors(destination_id), {member(account_id, thread_key): expiry}
    )


async def leave(services: Services, destination_id: int, account_id: int, thread_key: str) -> None:
    """The visitor closed the widget (their last socket ended)."""
    await services.redis.zrem(keys.live_visitors(destination_id), member(account_id, thread_key))


def _sockets(destination_id: int, account_id: int, thread_key: str) -> tuple[str, str, str]:
    """The visitor's socket count, the destination's live set, and their member in it."""
    who = member(account_id, thread_key)
    return keys.live_visitor_sockets(destination_id, who), keys.live_visitors(destination_id), who


async def opened(services: Services, destination_id: int, account_id: int, thread_key: str) -> bool:
    """A socket of the visitor opened: touches them; True when it is their only one."""
    expiry = services.clock.now().timestamp() + LIVE_TTL
    sockets = _sockets(destination_id, account_id, thread_key)
    return await socket_presence.opened(services.redis, *sockets, expiry, LIVE_TTL) == 1


async def still_here(
    services: Services, destination_id: int, account_id: int, thread_key: str
) -> None:
    """A frame or ping from an open socket: the visitor is still live."""
    expiry = services.clock.now().timestamp() + LIVE_TTL
    sockets = _sockets(destination_id, account_id, thread_key)
    await socket_presence.still_open(services.redis, *sockets, expiry, LIVE_TTL)


async def closed(services: Services, destination_id: int, account_id: int, thread_key: str) -> bool:
    """A socket of the visitor ended: True when it was their last one on every worker, and
    they left (a second tab keeps them live)."""
    sockets = _sockets(destination_id, account_id, thread_key)
    return await socket_presence.closed(services.redis, *sockets)


async def live_among(services: Services, conversations: Sequence[Conversation]) -> set[str]:
    """``member_of`` each of ``conversations`` whose visitor's widget is open now."""
    if not conversations:
        return set()
    now = services.clock.now().timestamp()
    found: set[str] = set()
    async with services.redis.pipeline(transaction=False) as pipe:
        for c in conversations:
            pipe.zscore(keys.live_visitors(c.destination_id), member_of(c))
        scores = await pipe.execute()
    for c, score in zip(conversations, scores, strict=True):
        if score is not None and float(score) >= now:
            found.add(member_of(c))
    return found


async def live_members(services: Services, destination_id: int) -> set[str]:
    """``member(account_id, thread_key)`` of every visitor whose widget is open now."""
    now = services.clock.now().timestamp()
    key = keys.live_visitors(destination_id)
    await services.redis.zremrangebyscore(key, "-inf", now)
    rows: Any = await services.redis.zrangebyscore(key, now, "+inf")
    return {r.decode() if isinstance(r, bytes) else str(r) for r in rows}
