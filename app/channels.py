"""Running the connectors: one per active account, exactly one worker at a time per account.

Chat widgets need nothing running (their frames arrive on the websocket). Mailboxes and X
accounts each need a receive loop: every worker competes for a short Redis lease per account and
the holder runs the connector, renewing the lease as it goes; when the holder dies its lease
lapses and another worker takes over. Connection settings come from the account's ``settings``
(never secret); secrets come from the environment, ``CONCIERGE_SECRET_<ACCOUNT>_<NAME>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from app import keys
from app.inbox import Inbox
from app.models import Account, Quarantine
from app.services import Services
from connectors.base import Connector, ConnectorStatus
from connectors.webchat.connector import WebchatConnector

log = logging.getLogger(__name__)

LEASE_SECONDS = 30
STATUS_EVERY = 5

Factory = Callable[[Account, Services], Connector]
FACTORIES: dict[str, Factory] = {}


class ConfigurationError(ValueError):
    """An account cannot run: its settings are incomplete or a secret is missing."""


def secret(account_key: str, name: str) -> str:
    variable = "CONCIERGE_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{account_key}_{name}".upper())
    value = os.environ.get(variable, "")
    if not value:
        raise ConfigurationError(f"the secret {variable} is not set")
    return value


def account_settings(account: Account) -> dict[str, Any]:
    try:
        data = json.loads(account.settings or "{}")
    except ValueError as exc:
        raise ConfigurationError("the account's settings are not valid JSON") from exc
    if not isinstance(data, dict):
        raise ConfigurationError("the account's settings must be a JSON object")
    return data


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


def quarantine(services: Services, account: str) -> Callable[[bytes, str], Any]:
    """What a connector calls with something it could not read: kept whole, reason logged."""

    async def keep(raw: bytes, reason: str) -> None:
        log.warning("quarantined a message on %s: %s", account, reason)
        async with services.db.session() as session:
            session.add(
                Quarantine(
                    account_key=account, reason=reason[:500], raw=raw, at=services.clock.now()
                )
            )
            await session.commit()

    return keep


async def load_connectors(services: Services) -> None:
    """Builds every active account's connector (chat widgets at once; others on demand)."""
    async with services.db.session() as session:
        accounts = (await session.exec(select(Account).where(Account.active == True))).all()  # noqa: E712
    for account in accounts:
        if account.channel == "webchat":
            services.connectors[account.key] = WebchatConnector(account.key)
            continue
        factory = FACTORIES.get(account.channel)
        if factory is None:
            continue
        try:
            services.connectors[account.key] = factory(account, services)
        except ConfigurationError as exc:
            log.error("account %s cannot run: %s", account.key, exc)
            await write_status(services, account, ConnectorStatus(state="error", detail=str(exc)))


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
            async with services.db.session() as session:
                accounts = (
                    await session.exec(
                        select(Account).where(
                            col(Account.active).is_(True), Account.channel != "webchat"
                        )
                    )
                ).all()
            for account in accounts:
                connector = services.connectors.get(account.key)
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
