"""Fixtures of the app tests: the services of one worker, in the test's own event loop."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.db import create_tables
from app.demo import seed
from app.services import Services
from app.settings import Settings


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings)
    await create_tables(services.db.engine)
    async with services.db.session() as session:
        await seed(session)
    yield services
    await services.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    clean.pop("REDIS_URL", None)
    clean.pop("DATABASE_URL", None)
    clean["CONCIERGE_VAR_DIR"] = str(tmp_path / "var")
    return clean
