"""The application's clock: real time, or time running forward from a configured instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """``now()`` is always an aware UTC datetime.

    With ``start`` set, time starts there and runs at real speed, so a demo or a test can run
    "at 21:14 on a Saturday" and still see minutes pass.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self._offset = start.astimezone(UTC) - datetime.now(UTC)
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (tests)."""
        self._offset = instant.astimezone(UTC) - datetime.now(UTC)
