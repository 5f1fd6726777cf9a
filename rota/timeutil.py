"""Local wall-clock times to UTC instants, with the DST rules of the rota.

A local time that does not exist (the spring-forward gap) moves forward to the first instant
after the gap; an ambiguous one (the autumn fold) takes its first occurrence. Durations are
always differences of UTC instants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def require_aware(at: datetime, name: str = "at") -> datetime:
    if at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return at.astimezone(UTC)


def to_utc(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``minutes`` after local midnight of ``day`` (may pass 24:00)."""
    day = day + timedelta(days=minutes // 1440)
    minutes %= 1440
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)  # fold=0: first
    instant = wall.astimezone(UTC)
    back = instant.astimezone(zone)
    if back.replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a spring-forward gap containing ``wall`` ends (the clocks' jump)."""
    low = wall.replace(fold=1).astimezone(UTC)  # before the jump
    high = wall.replace(fold=0).astimezone(UTC)  # after the jump
    if low > high:
        low, high = high, low
    offset = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()
