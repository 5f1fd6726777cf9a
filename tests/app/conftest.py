"""Fixtures of the app tests: the services of one worker, in the test's own event loop."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.db import create_tables
from app.demo import seed
from app.embedded_redis import free_port
from app.services import Services
from app.settings import Settings
from tests.support.fake_x import FakeX, start


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings)
    await create_tables(services.db.engine)
    async with services.db.session() as session:
        await seed(session)
    yield services
    await services.close()


@pytest.fixture
def fake() -> Iterator[FakeX]:
    """A local X API v2 (the outside world), fed by the test."""
    fake = FakeX()
    server, thread = start(fake, free_port())
    yield fake
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    clean.pop("REDIS_URL", None)
    clean.pop("DATABASE_URL", None)
    clean["CONCIERGE_VAR_DIR"] = str(tmp_path / "var")
    return clean


class Collector:
    """What a real SMTP server (aiosmtpd) received: the mails' bytes, in order."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    """A real SMTP server on a free port, and what it received."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()
