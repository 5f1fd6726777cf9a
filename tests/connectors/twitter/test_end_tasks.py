"""Stopping an X account ends its timelines, even one that lost a cancellation (Python 3.11's
``wait_for`` under redis-py can drop one) and even while the stop is cancelled itself."""

from __future__ import annotations

import asyncio

from connectors.twitter.connector import end_tasks


async def stubborn(swallow: int, ended: list[str]) -> None:
    """Polls on after its first ``swallow`` cancellations, like a timeline whose cancellation
    was dropped in the middle of a Redis call."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if swallow == 0:
                ended.append("ended")
                raise
            swallow -= 1


async def test_a_timeline_that_lost_its_cancellation_is_ended_all_the_same() -> None:
    ended: list[str] = []
    tasks = [asyncio.create_task(stubborn(n, ended)) for n in (0, 1, 3)]
    await asyncio.sleep(0.05)
    await asyncio.wait_for(end_tasks(tasks, resend=0.02), 5)
    assert all(task.done() for task in tasks) and ended == ["ended"] * 3


async def test_the_timelines_are_ended_even_when_the_stop_is_cancelled() -> None:
    ended: list[str] = []
    tasks = [asyncio.create_task(stubborn(2, ended))]
    stopping = asyncio.create_task(end_tasks(tasks, resend=0.05))
    await asyncio.sleep(0.01)
    stopping.cancel()  # the account's own stop, cancelled in turn: the timeline still ends
    await asyncio.wait({stopping}, timeout=5)
    assert stopping.done() and tasks[0].done() and ended == ["ended"]
