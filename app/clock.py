"""The application's clock: real time, or time running forward from a configured instant."""

from __future__ import annotations

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
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def set(self, instant: datetime, frozen: bool = False) -> None:
        """Jump to ``instant``; ``frozen`` stops time there (tests that need exact figures)."""
        self._offset = instant.astimezone(UTC) - datetime.now(UTC)
        self._frozen = instant.astimezone(UTC) if frozen else None
