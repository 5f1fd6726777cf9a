"""One outbox Dispatcher per destination, for the destinations there are now and those added
while the app runs (``concierge destination add``): the list is read again every few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app import outage, realtime
from app.destinations import destination_ids
from app.outbox import Dispatcher
from app.services import Services

log = logging.getLogger(__name__)

RESCAN_SECONDS = 3.0


async def _ids(services: Services) -> list[int]:
    async with services.db.session() as session:
        return await destination_ids(session)


async def supervise_dispatchers(
    services: Services, consumer: str, every: float = RESCAN_SECONDS
) -> None:
    """Forever: starts a Dispatcher for each destination that has none running (a new one, or
    one whose dispatcher ended), and stops that of a destination no longer there. On
    cancellation every dispatcher is stopped before this returns."""
    running: dict[int, asyncio.Task[None]] = {}
    failures = 0
    try:
        while True:
            try:
                ids = await _ids(services)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the dispatchers keep running; the list is read again
                failures += 1
                if not outage.quiet(exc, "dispatcher supervision"):
                    log.exception("reading the destinations failed")
                await outage.pause(failures)
                continue
            for destination_id in ids:
                task = running.get(destination_id)
                if task is not None and not task.done():
                    continue
                if task is not None:  # Dispatcher.run loops for ever: an ending is a bug
                    log.error("outbox dispatcher of destination %s ended; starting it again",
                              destination_id)  # fmt: skip
                running[destination_id] = asyncio.create_task(
                    Dispatcher(services, destination_id, consumer).run(),
                    name=f"outbox-{destination_id}",
                )
            for destination_id in set(running) - set(ids):
                await realtime.stop(running.pop(destination_id))
            await asyncio.sleep(every)
    finally:
        # Until each has ended, whatever cancels this meanwhile (realtime.stop).
        for task in running.values():
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await realtime.stop(task)
