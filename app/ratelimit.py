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
        now = time.time()
        current = int(now // self.window)
        elapsed = (now % self.window) / self.window
        key = keys.rate(scope, subject, current)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window * 2)
            pipe.get(keys.rate(scope, subject, current - 1))
            count, _, previous = await pipe.execute()
        weighted = int(count) + int(previous or 0) * (1 - elapsed)
        return weighted <= limit
