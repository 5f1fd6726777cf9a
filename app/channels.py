"""Running the connectors: one receive loop per active account, in one worker at a time.

Chat widgets need nothing running (their frames arrive on the websocket). Mailboxes and X
accounts each need a receive loop: every worker competes for a short Redis lease per account and
the holder runs the connector, renewing the lease as it goes; when the holder dies its lease
lapses and another worker takes over. An account configured while the app runs starts within a
few seconds, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from app import keys
from app.connector_registry import ConfigurationError, connector_for
from app.inbox import Inbox
from app.models import Account
from app.services import Services
from connectors.base import Connector, ConnectorStatus, StatusNote

log = logging.getLogger(__name__)

LEASE_SECONDS = 30
STATUS_EVERY = 5


class RedisCursors:
    """A connector's durable cursors, in one Redis hash per account."""

    def __init__(self, services: Services, destination_id: int, account: str) -> None:
        self.redis = services.redis
        self.key = keys.cursor(destination_id, account)

    async def get(self, key: str) -> str | None:
        value = await self.redis.hget(self.key, key)
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: str, value: str) -> None:
        await self.redis.hset(self.key, key, value)


async def _active(services: Services) -> list[Account]:
    async with services.db.session() as session:
        return list(
            (await session.exec(select(Account).where(col(Account.active).is_(True)))).all()
        )


async def build(services: Services, account: Account) -> Connector | None:
    """The account's connector, or None (its status then tells what is missing)."""
    try:
        return connector_for(services, account)
    except ConfigurationError as exc:
        log.error("account %s cannot run: %s", account.key, exc)
        note = StatusNote(exc.code, exc.params)
        await write_status(
            services, account, ConnectorStatus(state="error", detail=str(exc), notes=[note])
        )
        return None


async def load_connectors(services: Services) -> None:
    for account in await _active(services):
        await build(services, account)


async def write_status(services: Services, account: Account, status: ConnectorStatus) -> None:
    data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(status).items()}
    await services.redis.set(
        keys.connector_status(account.destination_id, account.key),
        json.dumps(data),
        ex=LEASE_SECONDS * 4,
    )


async def read_status(services: Services, account: Account) -> dict[str, Any] | None:
    raw = await services.redis.get(keys.connector_status(account.destination_id, account.key))
    return json.loads(raw) if raw else None


async def supervise(services: Services, worker: str) -> None:
    """Runs, in this worker, the connectors whose lease it holds; forever."""
    running: dict[str, asyncio.Task[None]] = {}
    try:
        while True:
            for account in await _active(services):
                if account.channel == "webchat":
                    continue
                connector = await build(services, account)
                if connector is None:
                    continue
                lease = keys.connector_status(account.destination_id, account.key) + ":lease"
                held = await services.redis.set(lease, worker, nx=True, ex=LEASE_SECONDS)
                owner: Any = await services.redis.get(lease)
                mine = held or (owner is not None and owner.decode() == worker)
                task = running.get(account.key)
                if mine:
                    await services.redis.expire(lease, LEASE_SECONDS)
                    if task is None or task.done():
                        running[account.key] = asyncio.create_task(
                            _run(services, account, connector), name=f"connector-{account.key}"
                        )
                    await write_status(
                        services, account, getattr(connector, "status", ConnectorStatus())
                    )
                elif task is not None:
                    task.cancel()
                    running.pop(account.key)
            await asyncio.sleep(STATUS_EVERY)
    finally:
        for task in running.values():
            task.cancel()
        for task in running.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _run(services: Services, account: Account, connector: Connector) -> None:
    cursors = RedisCursors(services, account.destination_id, account.key)
    try:
        await connector.run(Inbox(services), cursors)
    except asyncio.CancelledError:
        raise
    except Exception:  # a connector must survive its channel; this is a bug: log, restart later
        log.exception("connector %s stopped", account.key)
