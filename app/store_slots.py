"""How many visitor messages one worker stores at once, and when it says "busy" instead.

A worker is one event loop. Storing a chat message is a few milliseconds of it; past what the
loop can do, every message started makes all the others slower — and the advisers' replies,
which share the loop and SQLite's write turn, wait behind a crowd that only grows: at twice a
worker's capacity a reply took seconds and most were never sent.

So a visitor's message is stored in one of ``slots`` places; the next ones wait their turn in
order. When the oldest waiting message has waited longer than ``max_wait`` the worker is behind,
and a new message is not queued but refused with "busy" and a time to try again: the widget
keeps it (still marked as not sent) and sends the same ``client_id`` again then, which the
inbox stores once. Nothing is lost, the ones already queued are still stored, and the work in
progress stays small enough for replies, acknowledgements and events to keep moving.
E-mail and X are not held here: their readers pull at their own pace and wait for the store.

A message's wait counts from when it reached the worker (``since``), not from when it asked for
a slot: a visitor socket reads its frames as they come and stores its messages one after
another, so a message may have waited behind its own socket's earlier ones first. Counted from
the slot alone, a worker past its capacity with few sockets (each sending faster than its
messages were stored) never looked behind — its queue held at most one message per socket —
while every socket's own backlog, and the advisers' wait, grew without end.

A message sent again after a refusal (``again``) is let into the queue until the oldest waiting
one has waited ``AGAIN`` times as long: while the worker is a little behind, new messages are
turned away and the ones already turned away once are stored, so a visitor is not refused over
and over while newcomers get in; far behind, everything is refused alike (the queue stays
bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

AGAIN = 2.0  # a message refused once is refused again only this many times further behind


class Busy(Exception):
    """The worker is behind: the message was not queued; try again after ``retry_after``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"busy, retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class StoreSlots:
    """At most ``slots`` holders at once; waiters served in order; refused once the head of the
    queue has waited ``max_wait`` seconds (one event loop: no thread-safety needed)."""

    def __init__(
        self,
        slots: int,
        max_wait: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.max_wait = max_wait
        self._now = now
        self._free = slots  # nobody waits while one is free: a freed slot goes to the next
        self._waiters: deque[tuple[float, asyncio.Future[None]]] = deque()
        self.refused = 0  # since start, for the logs and the bench

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def _behind(self, again: bool, since: float | None) -> bool:
        """Whether the oldest message waiting — queued, or ``since`` for the one asking when
        it would have to queue (no slot free) — has waited past the limit."""
        limit = self.max_wait * (AGAIN if again else 1.0)
        oldest = self._waiters[0][0] if self._waiters else None
        if since is not None and not self._free:
            oldest = since if oldest is None else min(oldest, since)
        return oldest is not None and self._now() - oldest > limit

    def check(self, again: bool = False, since: float | None = None) -> None:
        """Raises :class:`Busy` now if :meth:`slot` would: a message that is going to be
        refused should cost nothing else (no rate-limit or block look-up in Redis).
        ``again``: the message was refused before (see the module's doc); ``since``: when it
        reached the worker (on the clock given, :func:`time.monotonic` by default)."""
        if self._behind(again, since):
            raise self.refusal()

    def refusal(self) -> Busy:
        """A "busy" refusal, counted (also for a socket whose own queue is full)."""
        self.refused += 1
        return Busy(self.retry_after())

    def retry_after(self) -> float:
        """One to two times ``max_wait`` (at least a second): the queue is that far behind, and
        the spread keeps a refused crowd from coming back all at once."""
        return max(1.0, self.max_wait) * (1 + random.random())  # noqa: S311 (jitter, not a secret)

    @contextlib.asynccontextmanager
    async def slot(self, again: bool = False, since: float | None = None) -> AsyncIterator[None]:
        await self._take(again, since)
        try:
            yield
        finally:
            self._give()

    async def _take(self, again: bool, since: float | None) -> None:
        if self._free:
            self._free -= 1
            return
        self.check(again, since)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now() if since is None else min(since, self._now()), waiter)
        self._waiters.append(entry)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._give()  # handed a slot just as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # unless a hand-over skipped it already
                    self._waiters.remove(entry)
            raise

    def _give(self) -> None:
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to the next in line
                return
        self._free += 1
