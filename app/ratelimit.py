"""Fixed-window rate limits kept in Redis, shared by every worker."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from app import keys


class RateLimiter:
    def __init__(self, redis: Redis, window_seconds: int) -> None:
        self.redis = redis
        self.window = window_seconds

    async def hit(self, scope: str, subject: str, limit: int) -> bool:
        """Counts one hit; False when ``subject`` is over ``limit`` in the current window."""
        window = int(time.time()) // self.window
        key = keys.rate(scope, subject, window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window * 2)
            count, _ = await pipe.execute()
        return int(count) <= limit
