"""The app's side of the connector contract, in memory: for connector tests and benchmarks."""

from __future__ import annotations

import asyncio
import time

from connectors.base import InboundMessage, IngestResult


class MemorySink:
    """The app's side of the contract, in memory: dedupes on external id like the real inbox."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.by_id: dict[str, InboundMessage] = {}
        self.calls = 0
        self.ingested_at: dict[str, float] = {}
        self.fail_next = 0
        self.fail_on: str | None = None  # an external id the inbox refuses to store
        self.arrived = asyncio.Event()

    async def ingest(self, message: InboundMessage) -> IngestResult:
        self.calls += 1
        if self.fail_next or message.external_id == self.fail_on:
            self.fail_next = max(0, self.fail_next - 1)
            raise ConnectionError("inbox unavailable (test)")
        created = message.external_id not in self.by_id
        if created:
            self.by_id[message.external_id] = message
            self.messages.append(message)
            self.ingested_at[message.external_id] = time.monotonic()
        self.arrived.set()
        return IngestResult(conversation_id=1, message_id=len(self.messages), created=created)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[InboundMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        return self.messages


class MemoryCursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value
