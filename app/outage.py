"""Redis outages, said once: one line when Redis becomes unreachable, one when it is back.

Every background loop (the hub's readers, the outbox dispatchers, the connectors' supervisor,
the sweeps) meets the same outage at the same time; instead of each logging a traceback on every
retry — hundreds a minute — they hand the error to :func:`quiet`, which logs the first one of an
outage and swallows the rest. :func:`watch` pings Redis every second so the "back" line comes as
soon as it answers again, and ``/healthz`` reads the same state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# What an unreachable, restarting or still-loading server raises (BusyLoadingError is a
# ConnectionError): anything else is a bug worth its traceback.
UNREACHABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)

WATCH_EVERY = 1.0
AFTERMATH = 5.0  # seconds after Redis came back when a failure is still the same outage


class Outage:
    """One process's view of Redis: up, or down since a moment (monotonic seconds)."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.back_at = -AFTERMATH
        self.reason = ""

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def quiet(self, exc: BaseException, where: str = "", confirmed: bool = False) -> bool:
        """True when ``exc`` is Redis being unreachable: logged once per outage, else nothing.
        False for any other error, which the caller logs in full. ``confirmed``: the watcher's
        own ping failed, so this is an outage even just after the last one ended."""
        if not isinstance(exc, UNREACHABLE):
            return False
        # Connections opened before a restart fail once more just after it: the same outage.
        aftermath = time.monotonic() - self.back_at < AFTERMATH and not confirmed
        if self.down_since is None and not aftermath:
            self.down_since = time.monotonic()
            self.reason = type(exc).__name__
            log.warning(
                "Redis unreachable (%s%s): waiting for it, retrying with backoff",
                self.reason,
                f" in {where}" if where else "",
            )
        return True

    def back(self) -> None:
        """Redis answered: says so once if it had been down."""
        if self.down_since is not None:
            log.warning("Redis reachable again after %.1f s", time.monotonic() - self.down_since)
            self.down_since = None
            self.back_at = time.monotonic()
            self.reason = ""


# One per process: every worker process watches its own connections.
outage = Outage()


def quiet(exc: BaseException, where: str = "") -> bool:
    return outage.quiet(exc, where)


def _unreachable_cause(exc: BaseException | None) -> BaseException | None:
    """The Redis connection error in ``exc``'s chain of causes, if any."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, RedisConnectionError | RedisTimeoutError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


class QuietDuringOutage(logging.Filter):
    """Drops a logged traceback whose cause is Redis being unreachable (a socket handler, a
    request, a loop that logs on its own): the outage is said once by :func:`quiet` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        cause = _unreachable_cause(record.exc_info[1] if record.exc_info else None)
        if cause is None:
            return True
        outage.quiet(cause, record.name)
        return False


_FILTER = QuietDuringOutage()


def install_log_filter() -> None:
    """On the server's error logger, the root handlers and the last-resort handler that a
    worker process without logging configured writes through (idempotent)."""
    targets: list[logging.Filterer] = [logging.getLogger("uvicorn.error")]
    targets += logging.getLogger().handlers
    if logging.lastResort is not None:
        targets.append(logging.lastResort)
    for target in targets:
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)


async def pause(failures: int) -> None:
    """Waits before a background loop tries Redis again: 0.1 s doubling up to 2 s."""
    await asyncio.sleep(min(2.0, 0.1 * 2 ** min(failures, 5)))


async def watch(redis: Any) -> None:
    """Pings Redis every second, forever, so an outage's end is noticed and said at once."""
    while True:
        try:
            await asyncio.wait_for(redis.ping(), timeout=2.0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            unreachable = exc if isinstance(exc, UNREACHABLE) else OSError(str(exc))
            outage.quiet(unreachable, "watch", confirmed=True)
        else:
            outage.back()
        await asyncio.sleep(WATCH_EVERY)
