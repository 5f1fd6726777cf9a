from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.ratelimit import RateLimiter


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_limits_per_subject(redis: Redis) -> None:
    limiter = RateLimiter(redis, window_seconds=60)
    assert [await limiter.hit("s", "a", 3) for _ in range(5)] == [True, True, True, False, False]
    assert await limiter.hit("s", "b", 3)  # another subject has its own budget
    assert await limiter.hit("other-scope", "a", 3)


async def test_the_previous_window_still_counts(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RateLimiter(redis, window_seconds=10)
    clock = [1_000_009.0]  # 90 % into a window
    monkeypatch.setattr("app.ratelimit.time.time", lambda: clock[0])
    assert all([await limiter.hit("s", "a", 5) for _ in range(5)])
    clock[0] = 1_000_010.5  # just past the edge: most of the last window is still inside
    assert not await limiter.hit("s", "a", 5)
    clock[0] = 1_000_019.9  # nearly a whole window later, the old hits have faded
    assert await limiter.hit("s", "a", 5)


async def test_several_limits_at_once_refuse_when_any_is_over(redis: Redis) -> None:
    limiter = RateLimiter(redis, window_seconds=60)
    visitor, address = ("visitor", "v1", 2), ("visitor-ip", "10.0.0.1", 3)
    assert [await limiter.hit_all(visitor, address) for _ in range(3)] == [True, True, False]
    # The address counted every hit: a second visitor from it is refused too…
    assert await limiter.hit_all(("visitor", "v2", 2), address) is False
    assert await limiter.hit("visitor", "v2", 2)  # …though their own count (2 of 2) is within
