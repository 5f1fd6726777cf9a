"""One worker at a time holds a chore's lease (app/leadership.py), on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app import keys, leadership


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_one_worker_holds_the_lease_renews_it_and_another_takes_it_when_it_lapses(
    redis: Redis,
) -> None:
    lease = keys.sweep_lease()
    assert await leadership.holds(redis, lease, "host/1", 0.4)
    assert not await leadership.holds(redis, lease, "host/2", 0.4)
    for _ in range(3):  # renewed at each pass: never lapses while its holder runs
        await asyncio.sleep(0.25)
        assert await leadership.holds(redis, lease, "host/1", 0.4)
        assert not await leadership.holds(redis, lease, "host/2", 0.4)
    await asyncio.sleep(0.5)  # host/1 stopped renewing
    assert await leadership.holds(redis, lease, "host/2", 0.4)
    assert not await leadership.holds(redis, lease, "host/1", 0.4)


async def test_workers_racing_for_a_free_lease_elect_exactly_one(redis: Redis) -> None:
    lease = keys.sweep_lease()
    results = await asyncio.gather(
        *(leadership.holds(redis, lease, f"host/{n}", 5) for n in range(20))
    )
    assert sum(results) == 1
