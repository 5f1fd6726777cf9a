"""A PostgreSQL engine's pool is bounded by the settings, so N workers stay under the server's
max_connections (docs/operations.md). No server is needed: the pool is built before any
connection is made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.pool import QueuePool

from app.db import make_engine
from app.settings import get_settings

URL = "postgresql+asyncpg://concierge:secret@127.0.0.1:1/concierge"


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_the_pool_is_bounded_by_the_settings(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("CONCIERGE_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("CONCIERGE_DATABASE_MAX_OVERFLOW", "2")
    engine = make_engine(URL)
    try:
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.size() == 3
        assert pool._max_overflow == 2  # at most 5 connections in this process
    finally:
        await engine.dispose()


async def test_the_default_pool_is_sqlalchemys(fresh_settings: None) -> None:
    engine = make_engine(URL)
    try:
        assert isinstance(engine.pool, QueuePool)
        assert (engine.pool.size(), engine.pool._max_overflow) == (5, 10)
    finally:
        await engine.dispose()


def test_a_pool_of_nothing_is_refused(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("CONCIERGE_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="database_pool_size"):
        get_settings()
