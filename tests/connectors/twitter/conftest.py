from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.embedded_redis import free_port
from tests.support.fake_x import FakeX, start
from tests.support.memory import MemoryCursors, MemorySink


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    server, thread = start(fake, free_port())
    yield fake
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def cursors() -> MemoryCursors:
    return MemoryCursors()
