"""The pool's bound on a real PostgreSQL server: however many sessions a process opens at once,
the server sees at most pool size + overflow connections from it (the throw-away cluster of
tests/support/postgres.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.db import Database
from app.settings import get_settings
from tests.support.postgres import PostgresCluster
from tests.support.sql import connect


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CONCIERGE_DATABASE_POOL_SIZE", "2")
    monkeypatch.setenv("CONCIERGE_DATABASE_MAX_OVERFLOW", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_many_sessions_at_once_use_at_most_the_pools_connections(
    postgres_cluster: PostgresCluster, bounded: None
) -> None:
    url = postgres_cluster.new_database("pool")
    name = url.rsplit("/", 1)[1]
    db = Database(url)
    seen: list[int] = []
    watcher = connect(postgres_cluster.url("postgres"))

    def connections() -> int:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = ?"
        return int(watcher.execute(query, (name,)).fetchone()[0])

    async def work() -> None:
        async with db.session() as session:
            await session.connection()  # a connection of the pool, held
            await asyncio.sleep(0.2)
            seen.append(await asyncio.to_thread(connections))

    try:
        await asyncio.gather(*(work() for _ in range(12)))
        # Three sessions at a time (2 kept + 1 overflow), the others waited for a connection.
        assert max(seen) == 3
        assert len(seen) == 12
        await db.dispose()
        assert connections() == 0
    finally:
        await db.dispose()
        watcher.close()
        postgres_cluster.drop_database(url)
