"""Metering of a widget's chatter, so a flood of frames costs nothing.

A visitor's typing frames and pings say nothing new most of the time; these decide, in memory
and per socket, which of them are worth a Redis round trip. Pure: the caller passes the time
(``time.monotonic()`` seconds).
"""

from __future__ import annotations


class Every:
    """True at most once per ``period`` seconds (the first call is always due)."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._last: float | None = None

    def due(self, now: float) -> bool:
        if self._last is not None and now - self._last < self.period:
            return False
        self._last = now
        return True


class TypingMeter:
    """Which typing frames become a live signal.

    "Typing" is passed on when it starts and then at most once per ``repeat`` seconds (the
    adviser's page forgets it after a few seconds without news); "stopped" only after a
    "typing" that was passed on. Any other sequence, e.g. a script alternating both as fast as
    it can, is bounded by a token bucket of ``burst`` signals refilled at ``rate`` per second.
    """

    def __init__(self, repeat: float = 1.5, burst: int = 4, rate: float = 0.5) -> None:
        self.repeat = repeat
        self.burst = burst
        self.rate = rate
        self._tokens = float(burst)
        self._refilled: float | None = None
        self._active = False
        self._last_active = 0.0

    def admit(self, active: bool, now: float) -> bool:
        if active and self._active and now - self._last_active < self.repeat:
            return False
        if not active and not self._active:
            return False
        if self._refilled is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        self._active = active
        if active:
            self._last_active = now
        return True

    def stop(self) -> bool:
        """The visitor sent their message or left: True when a "stopped" is owed."""
        owed = self._active
        self._active = False
        return owed


class FrameMeter:
    """A socket's frames of any kind: ``burst`` at once, then ``rate`` a second. Pings and
    typing cost no Redis write but each gets an answer or a look; past this a socket is only
    spending the worker's time, and is closed."""

    def __init__(self, burst: int, rate: float) -> None:
        self.burst = max(1, burst)
        self.rate = rate
        self._tokens = float(self.burst)
        self._at: float | None = None

    def admit(self, now: float) -> bool:
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
