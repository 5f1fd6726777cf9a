"""Running the connectors: one receive loop per active account, in one worker at a time.

Chat widgets need nothing running (their frames arrive on the websocket). Mailboxes and X
accounts each need a receive loop: every worker competes for a short Redis lease per account and
the holder runs the connector, renewing the lease as it goes. A worker stopping cleanly gives its
leases back (another takes them within half a second); a worker restarted on the same machine takes
over the lease its dead predecessor left at once; a worker that died elsewhere leaves its lease to
lapse (30 s) before another takes over. An account configured while the app runs starts within a
few seconds, without a restart; one configured again restarts with its new settings, and one
disabled stops and gives its lease back, alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlmodel import col, select

from app import keys, outage, realtime
from app.connector_registry import ConfigurationError, built_from, connector_for
from app.inbox import Inbox
from app.models import Account
from app.services import Services
from connectors.base import Connector, ConnectorStatus, StatusNote

log = logging.getLogger(__name__)

LEASE_SECONDS = 30
STATUS_EVERY = 5
LEASE_POLL = 0.5  # a lease given back (a worker stopping) is taken within half a second


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


async def forget(services: Services, account: Account) -> None:
    """Drops what Redis keeps of a removed account's connector (its cursors, its status), so
    that an account added later under the same key starts afresh. Best effort: the account is
    gone already, and what stays is only read again under its key."""
    try:
        await services.redis.delete(
            keys.cursor(account.destination_id, account.key),
            keys.connector_status(account.destination_id, account.key),
        )
    except RedisError as exc:
        log.warning("removed account %s: its cursors stay in Redis (%s)", account.key, exc)


async def read_status(services: Services, account: Account) -> dict[str, Any] | None:
    raw = await services.redis.get(keys.connector_status(account.destination_id, account.key))
    return json.loads(raw) if raw else None


# Takes the lease when free, or when its holder is this worker, or a dead process of this same
# machine (a restart: its pid is gone); renews it when ours. Returns 1 when ours after the call.
_TAKE = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] or owner == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
# Deletes the lease only if still ours: a lease that lapsed and went to another worker stays.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def stale_predecessor(owner: str | None, worker: str) -> str:
    """``owner`` when it names a process of this worker's machine that is no longer running
    (this worker's predecessor, restarted), else "". Another machine's holder is never judged:
    its lease lapses on its own."""
    if not owner or owner == worker:
        return ""
    machine, _, pid = owner.rpartition("/")
    if machine != worker.rpartition("/")[0] or not pid.isdigit():
        return ""
    return "" if _pid_alive(int(pid)) else owner


class Leases:
    """This worker's connector leases: taken, renewed, and given back on a clean stop."""

    def __init__(self, services: Services, worker: str) -> None:
        self.redis = services.redis
        self.worker = worker
        self.held: set[str] = set()
        self._take = self.redis.register_script(_TAKE)
        self._release = self.redis.register_script(_RELEASE)

    async def take(self, key: str) -> bool:
        owner: Any = await self.redis.get(key)
        current = owner.decode() if isinstance(owner, bytes) else owner
        stale = stale_predecessor(current, self.worker)
        mine = bool(await self._take(keys=[key], args=[self.worker, LEASE_SECONDS, stale or "-"]))
        if mine and stale:
            log.info("took over lease %s from %s (no longer running)", key, stale)
        (self.held.add if mine else self.held.discard)(key)
        return mine

    async def release(self, key: str) -> None:
        """Gives ``key`` back if still ours (Redis errors are the caller's)."""
        await self._release(keys=[key], args=[self.worker])
        self.held.discard(key)

    async def release_all(self) -> None:
        """Gives back every lease still ours, so another worker takes over at once."""
        for key in list(self.held):
            try:
                await self.release(key)
            except Exception as exc:  # Redis gone: the lease lapses by itself
                outage.quiet(exc, "lease release")
                break


@dataclass(eq=False)
class Running:
    """A connector this worker runs: its task, the lease it holds, and what it was built from."""

    task: asyncio.Task[None]
    lease: str
    source: tuple[str, str, bool]


async def supervise(services: Services, worker: str) -> None:
    """Runs, in this worker, the connectors whose lease it holds; forever.

    ``worker`` is ``<machine>/<pid>`` (``services.worker_id``). Leases are tried twice a second
    (a lease given back is taken within half a second), the account list and statuses are
    refreshed every few seconds; on a clean stop, the connectors stop and the leases are given
    back. A Redis outage is waited out: the connectors keep running and their leases are
    taken again (or lost to nobody) when Redis answers."""
    running: dict[str, Running] = {}
    leases = Leases(services, worker)
    accounts: list[tuple[Account, Connector]] = []
    refreshed = -float(STATUS_EVERY)
    failures = 0
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                if loop.time() - refreshed >= STATUS_EVERY:
                    accounts = await _runnable(services)
                    refreshed = loop.time()
                    statuses = True
                else:
                    statuses = False
                await _lease_pass(services, leases, running, accounts, statuses)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if not outage.quiet(exc, "connectors"):
                    log.exception("connector supervision pass failed")
                await outage.pause(failures)
            await asyncio.sleep(LEASE_POLL)
    finally:
        # Until each has ended, whatever cancels this meanwhile: a connector left running
        # would go on reading its account after its lease was given back (realtime.stop).
        for run in running.values():
            while not run.task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await realtime.stop(run.task)
        await asyncio.shield(leases.release_all())


async def _runnable(services: Services) -> list[tuple[Account, Connector]]:
    """The active mailboxes and X accounts whose connector can be built."""
    found = []
    for account in await _active(services):
        if account.channel == "webchat":
            continue
        connector = await build(services, account)
        if connector is not None:
            found.append((account, connector))
    return found


async def _lease_pass(
    services: Services,
    leases: Leases,
    running: dict[str, Running],
    accounts: list[tuple[Account, Connector]],
    statuses: bool,
) -> None:
    await _retire(leases, running, accounts)
    for account, connector in accounts:
        key = keys.connector_lease(account.destination_id, account.key)
        run = running.get(account.key)
        if await leases.take(key):
            source = built_from(account)
            if run is not None and run.source != source:
                log.info("account %s changed: its connector starts again", account.key)
                await realtime.stop(run.task)
            if run is None or run.task.done() or run.source != source:
                task = asyncio.create_task(
                    _run(services, account, connector), name=f"connector-{account.key}"
                )
                running[account.key] = Running(task, key, source)
            if statuses:
                await write_status(
                    services, account, getattr(connector, "status", ConnectorStatus())
                )
        elif run is not None:
            run.task.cancel()
            running.pop(account.key)


async def _retire(
    leases: Leases, running: dict[str, Running], accounts: list[tuple[Account, Connector]]
) -> None:
    """Stops the connectors of accounts no longer to run (disabled, or no longer buildable)
    and gives their leases back."""
    listed = {account.key for account, _ in accounts}
    for key in [k for k in running if k not in listed]:
        run = running[key]
        log.info("account %s is no longer to run here: its connector stops", key)
        await realtime.stop(run.task)
        del running[key]
        await leases.release(run.lease)


async def _run(services: Services, account: Account, connector: Connector) -> None:
    cursors = RedisCursors(services, account.destination_id, account.key)
    try:
        await connector.run(Inbox(services), cursors)
    except asyncio.CancelledError:
        raise
    except Exception:  # a connector must survive its channel; this is a bug: log, restart later
        log.exception("connector %s stopped", account.key)
