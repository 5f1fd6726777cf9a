"""One visitor socket's messages stored in the order they were written, across refusals.

A message may be refused for a while — the worker is behind ("busy"), the visitor writes too
fast ("rate_limited"), the store failed ("unavailable") — and the widget sends it again later.
Meanwhile the visitor may write more, and the socket may hold later messages already: stored
now, they would come before the refused one, and the adviser would read the answer before the
question. So once a message is refused, the socket refuses every other message too (same
reason, the time left to wait) until the refused one comes back; it then goes first, and the
others after it, in the order they come. The widget sends its held messages again together,
in the order written (static/widget/core.js); an older widget sending each after its own delay
is refused until the first comes back, so its order is kept too, only later.

A widget that never sends the refused message again (it cannot be told apart from a slow one
whose tab was in the background, where timers fire once a minute) would have every message
refused from then on: past ``GIVE_UP`` seconds after the time it was given, the hold is lifted
and the socket takes messages again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

RETRY_AFTER = 5.0  # seconds, when a refusal gives none (the widget's own default)
GIVE_UP = 120.0  # seconds past its time: a refused message not sent again stops holding others


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message is refused, and after how many seconds to send it again."""

    code: str
    retry_after: float


class HeldBack:
    """The earliest message of one socket refused and not sent again since."""

    __slots__ = ("_now", "client_id", "code", "seq", "until")

    def __init__(
        self,
        client_id: str,
        seq: int,
        code: str,
        retry_after: float | None,
        now: Callable[[], float],
    ) -> None:
        self._now = now
        self.client_id, self.seq, self.code = client_id, seq, code
        self.until = now() + (RETRY_AFTER if retry_after is None else retry_after)

    def refusal(self) -> Refusal:
        """What a later message is told: the same reason, and to come back with the first."""
        return Refusal(self.code, round(max(self.until - self._now(), 0.5), 1))

    def lapsed(self) -> bool:
        return self._now() > self.until + GIVE_UP


class SendOrder:
    """Holds one socket's messages behind its earliest refused one (see the module's text).

    Messages are numbered as they reach the socket: one that reached it before the refused
    one is earlier and goes on; one that reached it after is later and waits. Almost every
    socket has no hold: it is an object only while a message is refused."""

    __slots__ = ("_now", "arrivals", "held")

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.arrivals = 0
        self.held: HeldBack | None = None

    def arrived(self, client_id: str) -> tuple[int, Refusal | None]:
        """A message has reached the socket: its number, and whether it is refused. The
        refused one coming back lifts the hold and goes on; any other, later than it, is
        refused while the hold lasts."""
        self.arrivals += 1
        held = self.held
        if held is not None and (held.client_id == client_id or held.lapsed()):
            self.held = held = None
        return self.arrivals, (None if held is None else held.refusal())

    def refused(
        self, client_id: str, seq: int, code: str, retry_after: float | None = None
    ) -> None:
        """Message ``seq`` was refused: it holds the later ones, unless an earlier one does."""
        if self.held is None or seq < self.held.seq:
            self.held = HeldBack(client_id, seq, code, retry_after, self._now)

    def behind(self, client_id: str, seq: int) -> Refusal | None:
        """Message ``seq``, waiting its turn on the socket, is about to be stored: refused if
        an earlier one was refused meanwhile (None: it goes on)."""
        held = self.held
        if held is None or seq <= held.seq or held.client_id == client_id:
            return None
        if held.lapsed():
            self.held = None
            return None
        return held.refusal()

    def done(self, client_id: str) -> None:
        """``client_id`` is stored: it holds nothing any more."""
        if self.held is not None and self.held.client_id == client_id:
            self.held = None
