"""Fixtures: a local fake X API (``fake_x``), the app's side in memory (``sink``, ``cursors``),
and ``make_connector`` building an XConnector pointed at the fake with a virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.embedded_redis import free_port
from connectors.twitter.config import XAccountConfig
from connectors.twitter.connector import XConnector
from tests.support.fake_x import ME, FakeX, start
from tests.support.memory import MemoryCursors, MemorySink


class VirtualTime:
    """A clock the connector reads and a sleep that only records and advances it."""

    def __init__(self, fake: FakeX) -> None:
        self.now = 1_784_400_000.0  # 2026-07-18 18:40 UTC
        self.slept: list[float] = []
        fake.clock = self.clock

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    server, thread = start(fake, free_port())
    yield fake
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def vtime(fake_x: FakeX) -> VirtualTime:
    return VirtualTime(fake_x)


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def cursors() -> MemoryCursors:
    return MemoryCursors()


OAUTH1 = {
    "consumer_key": "ck-test",
    "consumer_secret": "cs-test",
    "access_token": "at-test",
    "access_token_secret": "ats-test",
}


@pytest.fixture
def make_connector(fake_x: FakeX, vtime: VirtualTime) -> Callable[..., XConnector]:
    def make(**changes: object) -> XConnector:
        settings: dict[str, object] = {
            "account": "x-port-argent",
            "handle": "PortArgentOT",
            "user_id": ME,
            "bearer_token": "test-bearer",
            "api_base_url": fake_x.url,
            "poll_interval": 60,
            **OAUTH1,
        }
        settings.update(changes)
        config = XAccountConfig(**settings)  # type: ignore[arg-type]
        return XConnector(config, sleep=vtime.sleep, clock=vtime.clock, jitter=lambda a, b: b)

    return make
