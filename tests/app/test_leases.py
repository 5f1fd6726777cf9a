"""Connector leases: a worker stopping cleanly gives its accounts back at once, and a worker
restarted on the same machine takes over the lease its dead predecessor left — real Redis,
SQLite and the local fake X API, the supervisors running as the app runs them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from app import keys
from app.channels import stale_predecessor, supervise
from app.db import create_tables
from app.demo import seed
from app.models import Account, Message
from app.realtime import stop  # cancels until the task has ended (see its docstring)
from app.services import Services
from app.settings import Settings
from tests.support.fake_x import FakeX
from tests.support.sql import connect as sql_connect

LEASE = "x-port-argent"


@pytest.fixture
async def x_services(
    settings: Settings, fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Services]:
    """One worker's services with the X account configured against the fake X API."""
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN", "test-bearer")
    monkeypatch.setenv("CONCIERGE_SECRET_X_PORT_ARGENT_OAUTH2_USER_TOKEN", "user-token")
    services = Services.create(settings.model_copy(update={"x_api_base_url": fake.url}))
    await create_tables(services.db.engine)
    async with services.db.session() as session:
        await seed(session)
    path = settings.sqlalchemy_url
    x = {"handle": "PortArgentOT", "user_id": "1072250532645998596", "poll_interval": 0.3}
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute(
            "update account set active = true, settings = ? where key = ?", (json.dumps(x), LEASE)
        )
        db.execute("update destination set rota_toml = ''")
    yield services
    await services.close()


async def lease_key(services: Services) -> str:
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == LEASE))).one()
    return keys.connector_lease(account.destination_id, account.key)


async def owner(services: Services, key: str) -> str | None:
    value: Any = await services.redis.get(key)
    return value.decode() if value is not None else None


async def until(check: Any, seconds: float) -> float:
    """Seconds until ``check()`` (a coroutine function) is true; fails after ``seconds``."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while loop.time() - began < seconds:
        if await check():
            return loop.time() - began
        await asyncio.sleep(0.05)
    pytest.fail(f"not within {seconds} s")


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_a_worker_stopping_cleanly_hands_its_account_over_at_once(
    x_services: Services, fake: FakeX
) -> None:
    key = await lease_key(x_services)
    first = asyncio.create_task(supervise(x_services, "host-a/101"))
    await until(lambda: _is(x_services, key, "host-a/101"), 10)
    second = asyncio.create_task(supervise(x_services, "host-b/202"))
    try:
        await asyncio.sleep(1.5)
        assert await owner(x_services, key) == "host-a/101"  # held: the other waits
        await stop(first)  # a clean stop (SIGTERM): the lease is given back
        took = await until(lambda: _is(x_services, key, "host-b/202"), 2.0)
        assert took < 2.0
        # …and the new holder reads the account: a mention posted now is ingested.
        fake.add_mention("@PortArgentOT ouvert demain ?", username="ana")
        await until(lambda: _stored(x_services, "ouvert demain"), 10)
    finally:
        await stop(first)
        await stop(second)
    assert await owner(x_services, key) is None  # given back by the second too


async def test_a_restarted_worker_takes_its_dead_predecessors_lease_at_once(
    x_services: Services,
) -> None:
    key = await lease_key(x_services)
    machine = x_services.machine
    predecessor = f"{machine}/{dead_pid()}"  # killed: it could not give its lease back
    await x_services.redis.set(key, predecessor, ex=30)
    assert stale_predecessor(predecessor, x_services.worker_id) == predecessor
    restarted = asyncio.create_task(supervise(x_services, x_services.worker_id))
    try:
        took = await until(lambda: _is(x_services, key, x_services.worker_id), 2.0)
        assert took < 2.0
    finally:
        await stop(restarted)


async def test_a_lease_of_a_live_process_or_another_machine_is_left_to_lapse(
    x_services: Services,
) -> None:
    key = await lease_key(x_services)
    elsewhere = f"another-machine/{dead_pid()}"  # cannot be judged from here
    alive = f"{x_services.machine}/{os.getppid()}"  # same machine, still running
    assert stale_predecessor(alive, x_services.worker_id) == ""
    for holder in (elsewhere, alive):
        await x_services.redis.set(key, holder, ex=30)
        task = asyncio.create_task(supervise(x_services, x_services.worker_id))
        try:
            await asyncio.sleep(2.0)
            assert await owner(x_services, key) == holder
        finally:
            await stop(task)
        assert await owner(x_services, key) == holder  # not ours: not given back either


async def _is(services: Services, key: str, worker: str) -> bool:
    return await owner(services, key) == worker


async def _stored(services: Services, text: str) -> bool:
    async with services.db.session() as session:
        rows = (await session.exec(select(Message))).all()
    return any(text in m.text for m in rows)
