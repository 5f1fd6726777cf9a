"""Someone is here while at least one of their sockets is open, on any worker.

Advisers (their inbox tabs) and chat visitors (their widget tabs) are counted the same way: a
count of open sockets per person, and a sorted set of who is here with the instant each entry
lapses. The count and the entry expire together, so a worker that dies with sockets open leaves
nobody "here" for longer than the TTL.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

# Decrements the count; on the last socket, deletes it and removes the person. One script, so
# a tab opening at this very moment is counted either before the decrement (the person stays)
# or after it (a fresh count: here again).
_CLOSE = """
if redis.call('DECR', KEYS[1]) <= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


async def opened(
    redis: Redis, count_key: str, here_key: str, member: str, expiry: float, ttl: int
) -> int:
    """One more socket of ``member``; returns how many are open now."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(count_key)
        pipe.expire(count_key, ttl)
        pipe.zadd(here_key, {member: expiry})
        count, _, _ = await pipe.execute()
    return int(count)


async def still_open(
    redis: Redis, count_key: str, here_key: str, member: str, expiry: float, ttl: int
) -> None:
    """A frame or ping from an open socket: ``member`` is still here."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(here_key, {member: expiry})
        pipe.expire(count_key, ttl)
        await pipe.execute()


async def closed(redis: Redis, count_key: str, here_key: str, member: str) -> bool:
    """A socket of ``member`` ended; True when it was their last one, on every worker."""
    left: Any = await redis.eval(_CLOSE, 2, count_key, here_key, member)
    return bool(left)
