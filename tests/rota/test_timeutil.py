from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from rota.timeutil import require_aware, to_utc

PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "minutes", "expected"),
    [
        (date(2026, 1, 15), 17 * 60, utc(2026, 1, 15, 16, 0)),  # CET
        (date(2026, 7, 15), 17 * 60, utc(2026, 7, 15, 15, 0)),  # CEST
        (date(2026, 3, 29), 1 * 60 + 59, utc(2026, 3, 29, 0, 59)),  # just before the jump
        (date(2026, 3, 29), 2 * 60, utc(2026, 3, 29, 1, 0)),  # 02:00 does not exist: 03:00
        (date(2026, 3, 29), 2 * 60 + 30, utc(2026, 3, 29, 1, 0)),  # moves forward to the jump
        (date(2026, 3, 29), 3 * 60, utc(2026, 3, 29, 1, 0)),
        (date(2026, 10, 25), 2 * 60 + 30, utc(2026, 10, 25, 0, 30)),  # ambiguous: first one
        (date(2026, 10, 25), 3 * 60, utc(2026, 10, 25, 2, 0)),
        (date(2026, 3, 28), 22 * 60 + 10 * 60, utc(2026, 3, 29, 6, 0)),  # 08:00 next day, CEST
        (date(2026, 12, 31), 22 * 60 + 4 * 60, utc(2027, 1, 1, 1, 0)),  # across New Year
    ],
)
def test_local_wall_times_to_utc(day: date, minutes: int, expected: datetime) -> None:
    assert to_utc(day, minutes, PARIS) == expected


def test_durations_are_real_time_across_dst_nights() -> None:
    spring = to_utc(date(2026, 3, 29), 8 * 60, PARIS) - to_utc(date(2026, 3, 28), 22 * 60, PARIS)
    autumn = to_utc(date(2026, 10, 25), 8 * 60, PARIS) - to_utc(date(2026, 10, 24), 22 * 60, PARIS)
    assert spring.total_seconds() == 9 * 3600
    assert autumn.total_seconds() == 11 * 3600


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        require_aware(datetime(2026, 1, 1))  # noqa: DTZ001
