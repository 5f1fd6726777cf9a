"""Sliding-window rate limits kept in Redis, shared by every worker.

The count of the current fixed window plus the previous window's count weighted by how much of it
still lies inside the sliding window: smooth at window edges, two keys per subject.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from app import keys


class RateLimiter:
    def __init__(self, redis: Redis, window_seconds: int) -> None:
        self.redis = redis
        self.window = window_seconds

    async def hit(self, scope: str, subject: str, limit: int) -> bool:
        """Counts one hit; False when ``subject`` is over ``limit`` in the sliding window."""
        return await self.hit_all((scope, subject, limit))

    async def hit_all(self, *limits: tuple[str, str, int]) -> bool:
        """Counts one hit against each (scope, subject, limit), in one round trip; False when
        any subject is over its limit."""
        now = time.time()
        current = int(now // self.window)
        elapsed = (now % self.window) / self.window
        async with self.redis.pipeline(transaction=False) as pipe:
            for scope, subject, _ in limits:
                key = keys.rate(scope, subject, current)
                pipe.incr(key)
                pipe.expire(key, self.window * 2)
                pipe.get(keys.rate(scope, subject, current - 1))
            replies = await pipe.execute()
        allowed = True
        for n, (_, _, limit) in enumerate(limits):
            count, _, previous = replies[3 * n : 3 * n + 3]
            allowed = allowed and int(count) + int(previous or 0) * (1 - elapsed) <= limit
        return allowed
