from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.embedded_redis import free_port
from connectors.base import InboundMessage, IngestResult
from tests.support.fake_x import FakeX, start


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    server, thread = start(fake, free_port())
    yield fake
    server.should_exit = True
    thread.join(10)


class MemorySink:
    """The app's side, in memory: stores each external id once."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.fail_on: str | None = None

    async def ingest(self, message: InboundMessage) -> IngestResult:
        if message.external_id == self.fail_on:
            raise RuntimeError("the inbox is down")
        known = [m.external_id for m in self.messages]
        if message.external_id in known:
            return IngestResult(1, known.index(message.external_id) + 1, created=False)
        self.messages.append(message)
        return IngestResult(1, len(self.messages), created=True)


class MemoryCursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def cursors() -> MemoryCursors:
    return MemoryCursors()


def noop(*_: Any) -> None:
    return None
