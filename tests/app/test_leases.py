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

from app import channels, destinations, keys
from app.channels import stale_predecessor, supervise
from app.connector_registry import connector_for
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


def connector_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == f"connector-{LEASE}"]


async def test_an_account_disabled_stops_its_connector_and_runs_again_once_enabled_or_changed(
    x_services: Services, fake: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channels, "STATUS_EVERY", 0.5)  # the account list is read again sooner
    key = await lease_key(x_services)
    me = x_services.worker_id
    worker = asyncio.create_task(supervise(x_services, me))
    try:
        await until(lambda: _is(x_services, key, me), 10)
        [first] = connector_tasks()
        fake.add_mention("@PortArgentOT bonjour", username="ana")
        await until(lambda: _stored(x_services, "bonjour"), 10)

        async with x_services.db.session() as session:
            await destinations.set_active(session, LEASE, False)
        await until(lambda: _is(x_services, key, None), 5)  # given back, not left to lapse
        assert first.done() and not connector_tasks()
        async with x_services.db.session() as session:
            account = await destinations.account_by_key(session, LEASE)
        assert connector_for(x_services, account) is None  # replies are not sent either
        fake.add_mention("@PortArgentOT écrit pendant la pause", username="ana")
        await asyncio.sleep(1.5)  # five of its polls, had it still run
        assert not await _stored(x_services, "pendant la pause")

        async with x_services.db.session() as session:
            await destinations.set_active(session, LEASE, True)
        await until(lambda: _is(x_services, key, me), 5)
        # What was written meanwhile is read on enabling: its cursor was kept.
        await until(lambda: _stored(x_services, "pendant la pause"), 10)
        [second] = connector_tasks()

        # Configured again (as `concierge account x` does): it restarts with its new settings.
        async with x_services.db.session() as session:
            account = await destinations.account_by_key(session, LEASE)
            settings = json.loads(account.settings)
            account.settings = json.dumps({**settings, "poll_interval": 0.2})
            session.add(account)
            await session.commit()

        async def restarted() -> bool:
            running = [t for t in connector_tasks() if not t.done()]
            return second.done() and len(running) == 1

        await until(restarted, 5)
        assert x_services.connectors[LEASE].config.poll_interval == 0.2  # type: ignore[attr-defined]
        fake.add_mention("@PortArgentOT après le changement", username="ana")
        await until(lambda: _stored(x_services, "après le changement"), 10)
    finally:
        await stop(worker)
    assert await owner(x_services, key) is None
    assert all(t.done() for t in connector_tasks())


async def _is(services: Services, key: str, worker: str | None) -> bool:
    return await owner(services, key) == worker


async def _stored(services: Services, text: str) -> bool:
    async with services.db.session() as session:
        rows = (await session.exec(select(Message))).all()
    return any(text in m.text for m in rows)
